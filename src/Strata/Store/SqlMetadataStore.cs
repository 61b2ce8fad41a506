using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Strata.Store;

/// <summary>The metadata store over any ADO.NET provider; dialects supply connections and transactions.</summary>
public abstract class SqlMetadataStore : IMetadataStore, IStepRunBatchWriter
{
    public abstract string Location { get; }

    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Begins a transaction that takes the write lock at once (no deadlock upgrading a read lock).</summary>
    protected virtual async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);

    /// <summary>Serialises migrations between processes (PostgreSQL: an advisory lock; SQLite: the write lock).</summary>
    protected virtual Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Whether an exception is the database refusing a duplicate key (another process added the same name first).</summary>
    protected virtual bool IsUniqueViolation(Exception e) => false;

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// A connection for the reads a run makes once per step (the cache lookup), whose statements it may keep prepared; give
    /// it back with <see cref="ReturnReaderAsync"/>. The default opens a connection as any read does.
    /// </summary>
    protected virtual Task<DbConnection> RentReaderAsync(CancellationToken cancellationToken) => OpenAsync(cancellationToken);

    /// <summary>Takes back a connection from <see cref="RentReaderAsync"/>; the default closes it.</summary>
    protected virtual ValueTask ReturnReaderAsync(DbConnection connection) => connection.DisposeAsync();

    // ---- schema ----

    protected async Task MigrateAsync(CancellationToken cancellationToken)
    {
        // Most opens find the schema current: a read says so without taking the write lock.
        if (await ReadSchemaVersionAsync(cancellationToken).ConfigureAwait(false) is { } found)
        {
            if (found > Migrations.Latest)
                throw new StoreException($"The store at {Location} has schema version {found}, written by a newer Strata (this one knows up to " +
                    $"{Migrations.Latest}). Upgrade Strata, or point STRATA_HOME at another store.");
            if (found == Migrations.Latest) return;
        }
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await LockForMigrationAsync(connection, tx, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, tx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", cancellationToken).ConfigureAwait(false);
        var current = Convert.ToInt32(
            await ScalarAsync(connection, tx, "SELECT MAX(version) FROM schema_version", cancellationToken).ConfigureAwait(false) ?? 0,
            CultureInfo.InvariantCulture);
        if (current > Migrations.Latest)
            throw new StoreException($"The store at {Location} has schema version {current}, written by a newer Strata (this one knows up to " +
                $"{Migrations.Latest}). Upgrade Strata, or point STRATA_HOME at another store.");
        for (var v = current + 1; v <= Migrations.Latest; v++)
        {
            await ExecuteAsync(connection, tx, Migrations.All[v - 1], cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, tx, $"INSERT INTO schema_version (version) VALUES ({v})", cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The schema version, or null when the store has none yet.</summary>
    private async Task<int?> ReadSchemaVersionAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            var value = await ScalarAsync(connection, null, "SELECT MAX(version) FROM schema_version", cancellationToken).ConfigureAwait(false);
            return value is null ? null : Convert.ToInt32(value, CultureInfo.InvariantCulture);
        }
        catch (DbException)
        {
            return null; // no schema_version table yet (a new store), or a file that is not a store: migrating says which
        }
    }

    // ---- components ----

    public async Task AddComponentAsync(ComponentRecord c, CancellationToken cancellationToken = default)
    {
        try { await AddComponentCoreAsync(c, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (IsUniqueViolation(e))
        {
            throw AlreadyExists(c, e);
        }
    }

    private static StrataConfigException AlreadyExists(ComponentRecord c, Exception? inner = null) =>
        new($"{ComponentTypes.WithArticle(c.Type, capitalized: true)} named '{c.Name}' already exists; choose another name or update it with " +
            $"`strata {Display(c.Type)} update {c.Name}`.", inner);

    private Task AddComponentCoreAsync(ComponentRecord c, CancellationToken cancellationToken) => WriteAsync(async (conn, tx) =>
    {
        if (await ScalarAsync(conn, tx, "SELECT id FROM components WHERE type = @t AND name = @n", cancellationToken, ("t", TypeKey(c.Type)),
            ("n", c.Name)).ConfigureAwait(false) is not null)
            throw AlreadyExists(c);
        await ExecuteAsync(conn, tx,
            "INSERT INTO components (id, name, type, flavor, config, created_at, updated_at) VALUES (@id, @n, @t, @f, @c, @ca, @ua)",
            cancellationToken, ("id", c.Id), ("n", c.Name), ("t", TypeKey(c.Type)), ("f", c.Flavor), ("c", JsonSerializer.Serialize(c.Config)),
            ("ca", Time(c.CreatedAt)), ("ua", Time(c.UpdatedAt))).ConfigureAwait(false);
    }, cancellationToken);

    public Task UpdateComponentAsync(ComponentType type, string name, IReadOnlyDictionary<string, string> config,
        CancellationToken cancellationToken = default) => WriteAsync(async (conn, tx) =>
    {
        var n = await ExecuteAsync(conn, tx, "UPDATE components SET config = @c, updated_at = @u WHERE type = @t AND name = @n", cancellationToken,
            ("c", JsonSerializer.Serialize(config)), ("u", Time(TimeProvider.System.GetUtcNow())), ("t", TypeKey(type)), ("n", name)).ConfigureAwait(false);
        if (n == 0) throw NoSuchComponent(type, name);
    }, cancellationToken);

    public Task DeleteComponentAsync(ComponentType type, string name, CancellationToken cancellationToken = default) => WriteAsync(async (conn, tx) =>
    {
        var id = await ScalarAsync(conn, tx, "SELECT id FROM components WHERE type = @t AND name = @n", cancellationToken, ("t", TypeKey(type)),
            ("n", name)).ConfigureAwait(false)
            ?? throw NoSuchComponent(type, name);
        var stacks = new List<string>();
        await using (var r = await ReaderAsync(conn, tx,
            "SELECT s.name FROM stacks s JOIN stack_components sc ON sc.stack_id = s.id WHERE sc.component_id = @id ORDER BY s.name", cancellationToken,
            ("id", id)).ConfigureAwait(false))
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) stacks.Add(r.GetString(0));
        if (stacks.Count > 0)
            throw new StrataConfigException($"The {ComponentTypes.Noun(type)} '{name}' is used by stack(s) " +
                $"{string.Join(", ", stacks.Select(s => $"'{s}'"))}; delete those stacks or replace the component in them first.");
        await ExecuteAsync(conn, tx, "DELETE FROM components WHERE id = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
    }, cancellationToken);

    public async Task<ComponentRecord?> GetComponentAsync(ComponentType type, string name, CancellationToken cancellationToken = default) =>
        (await QueryAsync("SELECT id, name, type, flavor, config, created_at, updated_at FROM components WHERE type = @t AND name = @n", ReadComponent,
            cancellationToken,
            ("t", TypeKey(type)), ("n", name)).ConfigureAwait(false)).FirstOrDefault();

    public async Task<IReadOnlyList<ComponentRecord>> ListComponentsAsync(ComponentType? type = null, CancellationToken cancellationToken = default) =>
        type is null
            ? await QueryAsync("SELECT id, name, type, flavor, config, created_at, updated_at FROM components ORDER BY type, name", ReadComponent,
                cancellationToken).ConfigureAwait(false)
            : await QueryAsync("SELECT id, name, type, flavor, config, created_at, updated_at FROM components WHERE type = @t ORDER BY name", ReadComponent,
                cancellationToken, ("t", TypeKey(type.Value))).ConfigureAwait(false);

    private static ComponentRecord ReadComponent(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), ParseType(r.GetString(2)), r.GetString(3),
        JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(4)) ?? [],
        ParseTime(r.GetString(5)), ParseTime(r.GetString(6)));

    // ---- stacks ----

    public async Task AddStackAsync(StackRecord stack, CancellationToken cancellationToken = default)
    {
        try { await AddStackCoreAsync(stack, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (IsUniqueViolation(e))
        {
            throw new StrataConfigException($"A stack named '{stack.Name}' already exists; choose another name or change it with `strata stack update " +
                $"{stack.Name}`.", e);
        }
    }

    private Task AddStackCoreAsync(StackRecord stack, CancellationToken cancellationToken) => WriteAsync(async (conn, tx) =>
    {
        if (await ScalarAsync(conn, tx, "SELECT id FROM stacks WHERE name = @n", cancellationToken, ("n", stack.Name)).ConfigureAwait(false) is not null)
            throw new StrataConfigException($"A stack named '{stack.Name}' already exists; choose another name or change it with `strata stack update " +
                $"{stack.Name}`.");
        await ExecuteAsync(conn, tx, "INSERT INTO stacks (id, name, created_at, updated_at) VALUES (@id, @n, @c, @u)", cancellationToken,
            ("id", stack.Id), ("n", stack.Name), ("c", Time(stack.CreatedAt)), ("u", Time(stack.UpdatedAt))).ConfigureAwait(false);
        await InsertMembersAsync(conn, tx, stack.Id, stack.Components, cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    public Task ReplaceStackComponentsAsync(string name, IReadOnlyList<StackMember> components, CancellationToken cancellationToken = default) =>
        WriteAsync(async (conn, tx) =>
    {
        var id = await ScalarAsync(conn, tx, "SELECT id FROM stacks WHERE name = @n", cancellationToken, ("n", name)).ConfigureAwait(false)
            ?? throw NoSuchStack(name);
        await ExecuteAsync(conn, tx, "DELETE FROM stack_components WHERE stack_id = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        await InsertMembersAsync(conn, tx, (string)id, components, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(conn, tx, "UPDATE stacks SET updated_at = @u WHERE id = @id", cancellationToken, ("u", Time(TimeProvider.System.GetUtcNow())),
            ("id", id)).ConfigureAwait(false);
    }, cancellationToken);

    private async Task InsertMembersAsync(DbConnection conn, DbTransaction tx, string stackId, IReadOnlyList<StackMember> members,
        CancellationToken cancellationToken)
    {
        foreach (var m in members)
        {
            var componentId = await ScalarAsync(conn, tx, "SELECT id FROM components WHERE type = @t AND name = @n", cancellationToken, ("t", TypeKey(m.Type)),
                ("n", m.Name)).ConfigureAwait(false)
                ?? throw NoSuchComponent(m.Type, m.Name);
            await ExecuteAsync(conn, tx, "INSERT INTO stack_components (stack_id, component_id, position) VALUES (@s, @c, @p)", cancellationToken,
                ("s", stackId), ("c", componentId), ("p", m.Position)).ConfigureAwait(false);
        }
    }

    public Task DeleteStackAsync(string name, CancellationToken cancellationToken = default) => WriteAsync(async (conn, tx) =>
    {
        var id = await ScalarAsync(conn, tx, "SELECT id FROM stacks WHERE name = @n", cancellationToken, ("n", name)).ConfigureAwait(false)
            ?? throw NoSuchStack(name);
        if (await ScalarAsync(conn, tx, "SELECT value FROM settings WHERE key = 'active_stack'", cancellationToken).ConfigureAwait(false) is string active
            && active == name)
            throw new StrataConfigException($"Stack '{name}' is the active stack; activate another with `strata stack set NAME` first.");
        await ExecuteAsync(conn, tx, "DELETE FROM stack_components WHERE stack_id = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        await ExecuteAsync(conn, tx, "DELETE FROM stacks WHERE id = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
    }, cancellationToken);

    public async Task<StackRecord?> GetStackAsync(string name, CancellationToken cancellationToken = default) =>
        (await LoadStacksAsync("WHERE s.name = @n", cancellationToken, ("n", name)).ConfigureAwait(false)).FirstOrDefault();

    public Task<IReadOnlyList<StackRecord>> ListStacksAsync(CancellationToken cancellationToken = default) => LoadStacksAsync("", cancellationToken);

    private async Task<IReadOnlyList<StackRecord>> LoadStacksAsync(string where, CancellationToken cancellationToken, params (string, object?)[] args)
    {
        var rows = await QueryAsync(
            "SELECT s.id, s.name, s.created_at, s.updated_at, c.type, c.name, sc.position FROM stacks s LEFT JOIN stack_components sc ON sc.stack_id = s.id " +
            $"LEFT JOIN components c ON c.id = sc.component_id {where} ORDER BY s.name, sc.position",
            r => (Id: r.GetString(0), Name: r.GetString(1), Created: r.GetString(2), Updated: r.GetString(3),
                  Type: r.IsDBNull(4) ? null : r.GetString(4), Component: r.IsDBNull(5) ? null : r.GetString(5),
                  Position: r.IsDBNull(6) ? 0 : Convert.ToInt32(r.GetValue(6), CultureInfo.InvariantCulture)),
            cancellationToken, args).ConfigureAwait(false);
        return rows.GroupBy(r => r.Id).Select(g =>
        {
            var f = g.First();
            var members = g.Where(r => r.Type is not null).Select(r => new StackMember(ParseType(r.Type!), r.Component!, r.Position)).ToArray();
            return new StackRecord(f.Id, f.Name, members, ParseTime(f.Created), ParseTime(f.Updated));
        }).ToArray();
    }

    public async Task<string?> GetSettingAsync(string key, CancellationToken cancellationToken = default) =>
        (await QueryAsync("SELECT value FROM settings WHERE key = @k", r => r.GetString(0), cancellationToken,
            ("k", key)).ConfigureAwait(false)).FirstOrDefault();

    public Task SetSettingAsync(string key, string value, CancellationToken cancellationToken = default) => WriteAsync((conn, tx) =>
        ExecuteAsync(conn, tx, "INSERT INTO settings (key, value) VALUES (@k, @v) ON CONFLICT (key) DO UPDATE SET value = excluded.value", cancellationToken,
            ("k", key), ("v", value)), cancellationToken);

    // ---- runs ----

    public Task CreateRunAsync(RunRecord run, CancellationToken cancellationToken = default) => WriteAsync((conn, tx) =>
        ExecuteAsync(conn, tx,
            "INSERT INTO runs (id, name, pipeline, stack, status, started_at, finished_at, error, step_count, source, config) VALUES (@id, @n, @p, @s, " +
            "@st, @sa, @fa, @e, @c, @src, @cfg)",
            cancellationToken, ("id", run.Id), ("n", run.Name), ("p", run.Pipeline), ("s", run.Stack), ("st", StatusKey(run.Status)),
            ("sa", Time(run.StartedAt)), ("fa", run.FinishedAt is { } f ? Time(f) : null), ("e", run.Error), ("c", run.StepCount), ("src", run.Source),
            ("cfg", run.Config)),
            cancellationToken);

    public Task SaveRunGraphAsync(string runId, IReadOnlyDictionary<string, IReadOnlyList<string>> upstream,
        CancellationToken cancellationToken = default) => WriteAsync((conn, tx) =>
        ExecuteAsync(conn, tx, "INSERT INTO run_graphs (run_id, graph) VALUES (@id, @g) ON CONFLICT (run_id) DO UPDATE SET graph = excluded.graph",
            cancellationToken,
            ("g", JsonSerializer.Serialize(upstream, StrataJson.Compact)), ("id", runId)), cancellationToken);

    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>?> GetRunGraphAsync(string runId, CancellationToken cancellationToken = default)
    {
        var json = (await QueryAsync("SELECT graph FROM run_graphs WHERE run_id = @id", r => r.GetString(0), cancellationToken,
            ("id", runId)).ConfigureAwait(false)).FirstOrDefault();
        if (json is null) return null;
        var graph = JsonSerializer.Deserialize<Dictionary<string, string[]>>(json, StrataJson.Compact);
        return graph?.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal);
    }

    public Task ReopenRunAsync(string runId, CancellationToken cancellationToken = default) => WriteAsync((conn, tx) =>
        ExecuteAsync(conn, tx, "UPDATE runs SET status = 'running', finished_at = NULL, error = NULL, cancel_requested = 0, step_counts = NULL " +
            "WHERE id = @id", cancellationToken, ("id", runId)), cancellationToken);

    public Task RequestCancelAsync(string runId, CancellationToken cancellationToken = default) => WriteAsync((conn, tx) =>
        ExecuteAsync(conn, tx, "UPDATE runs SET cancel_requested = 1 WHERE id = @id", cancellationToken, ("id", runId)), cancellationToken);

    public async Task<bool> IsCancelRequestedAsync(string runId, CancellationToken cancellationToken = default) =>
        (await QueryAsync("SELECT cancel_requested FROM runs WHERE id = @id", r => Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture),
            cancellationToken, ("id", runId)).ConfigureAwait(false))
        .FirstOrDefault() == 1;

    /// <remarks>
    /// Stores the run's step counts with it (see <see cref="CountStepsAsync"/>). Whoever finishes a run has written its step runs
    /// (the orchestrator once its records are committed, `strata run cancel` once it stopped the leftovers); a later finish, e.g.
    /// of an orchestrator that outlived a cancel from elsewhere, counts again.
    /// </remarks>
    public async Task FinishRunAsync(string runId, ExecutionStatus status, DateTimeOffset finishedAt, string? error,
        CancellationToken cancellationToken = default)
    {
        var counts = await ScanCountsAsync(runId, cancellationToken).ConfigureAwait(false);
        await WriteAsync((conn, tx) =>
            ExecuteAsync(conn, tx, "UPDATE runs SET status = @s, finished_at = @f, error = @e, step_counts = @c WHERE id = @id", cancellationToken,
                ("s", StatusKey(status)), ("f", Time(finishedAt)), ("e", error), ("c", StepCountsText.Write(counts)), ("id", runId)),
            cancellationToken).ConfigureAwait(false);
    }

    public Task UpdateRunStatusAsync(string runId, ExecutionStatus status, CancellationToken cancellationToken = default) => WriteAsync((conn, tx) =>
        ExecuteAsync(conn, tx, "UPDATE runs SET status = @s, step_counts = NULL WHERE id = @id", cancellationToken, ("s", StatusKey(status)),
            ("id", runId)), cancellationToken);

    private const string RunColumns = "id, name, pipeline, stack, status, started_at, finished_at, error, step_count, source, config";

    public async Task<RunRecord?> FindRunAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        var prefix = idOrName.ToLowerInvariant();
        var exact = await QueryAsync($"SELECT {RunColumns} FROM runs WHERE id = @k OR name = @k", ReadRun, cancellationToken,
            ("k", idOrName)).ConfigureAwait(false);
        if (exact.Count > 0) return exact[0];
        if (idOrName.Length < 4) return null;
        var prefixed = await QueryAsync($"SELECT {RunColumns} FROM runs WHERE id LIKE @k LIMIT 2", ReadRun, cancellationToken,
            ("k", EscapeLike(prefix) + "%")).ConfigureAwait(false);
        return prefixed.Count switch
        {
            1 => prefixed[0],
            0 => null,
            _ => throw new StrataConfigException($"Run id prefix '{idOrName}' matches several runs; give more characters."),
        };
    }

    public async Task<IReadOnlyList<RunRecord>> ListRunsAsync(string? pipeline = null, int limit = 50, CancellationToken cancellationToken = default) =>
        pipeline is null
            ? await QueryAsync($"SELECT {RunColumns} FROM runs ORDER BY started_at DESC, id DESC LIMIT @l", ReadRun, cancellationToken,
                ("l", limit)).ConfigureAwait(false)
            : await QueryAsync($"SELECT {RunColumns} FROM runs WHERE pipeline = @p ORDER BY started_at DESC, id DESC LIMIT @l", ReadRun, cancellationToken,
                ("p", pipeline), ("l", limit)).ConfigureAwait(false);

    public async Task<IReadOnlyList<RunRecord>> ListRunsPageAsync(string? pipeline, ExecutionStatus? status, int offset, int limit,
        CancellationToken cancellationToken = default)
    {
        var where = new List<string>();
        var args = new List<(string, object?)> { ("l", limit), ("o", offset) };
        if (pipeline is not null)
        {
            where.Add("pipeline = @p");
            args.Add(("p", pipeline));
        }
        if (status is { } s)
        {
            where.Add("status = @s");
            args.Add(("s", StatusKey(s)));
        }
        var filter = where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where);
        return await QueryAsync($"SELECT {RunColumns} FROM runs{filter} ORDER BY started_at DESC, id DESC LIMIT @l OFFSET @o", ReadRun, cancellationToken,
            [.. args]).ConfigureAwait(false);
    }

    private static RunRecord ReadRun(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), ParseStatus(r.GetString(4)), ParseTime(r.GetString(5)),
        r.IsDBNull(6) ? null : ParseTime(r.GetString(6)), r.IsDBNull(7) ? null : r.GetString(7), Convert.ToInt32(r.GetValue(8), CultureInfo.InvariantCulture),
        r.IsDBNull(9) ? null : r.GetString(9), r.IsDBNull(10) ? null : r.GetString(10));

    // ---- step runs ----

    public Task CreateStepRunAsync(StepRunRecord s, IReadOnlyList<(string Name, string ArtifactId)> inputs, CancellationToken cancellationToken = default) =>
        WriteStepRunsAsync([new StepRunStarted(s, inputs)], cancellationToken);

    public Task RecordStepRunAsync(StepRunRecord s, IReadOnlyList<(string Name, string ArtifactId)> inputs,
        IReadOnlyList<ArtifactRecord> newArtifacts, IReadOnlyList<(string Name, string ArtifactId)> outputs, CancellationToken cancellationToken = default) =>
        WriteStepRunsAsync([new StepRunRecorded(s, inputs, newArtifacts, outputs)], cancellationToken);

    public Task FinishStepRunAsync(string stepRunId, ExecutionStatus status, DateTimeOffset finishedAt, string? error,
        IReadOnlyList<ArtifactRecord> newArtifacts, IReadOnlyList<(string Name, string ArtifactId)> outputs, CancellationToken cancellationToken = default) =>
        WriteStepRunsAsync([new StepRunFinished(stepRunId, status, finishedAt, error, newArtifacts, outputs)], cancellationToken);

    public Task SaveStepLogAsync(string stepRunId, string log, CancellationToken cancellationToken = default) =>
        WriteStepRunsAsync([new StepLogSaved(stepRunId, log)], cancellationToken);

    private Task WriteStepRunsAsync(IReadOnlyList<StepRunWrite> writes, CancellationToken cancellationToken) =>
        WriteAsync(async (conn, tx) =>
        {
            foreach (var write in Merged(writes))
                await ApplyAsync(conn, tx, write, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    Task IStepRunBatchWriter.WriteStepRunsAsync(IReadOnlyList<StepRunWrite> writes, CancellationToken cancellationToken) =>
        WriteStepRunsAsync(writes, cancellationToken);

    /// <summary>A step run started and finished in the same batch is written once, as it ended.</summary>
    private static List<StepRunWrite> Merged(IReadOnlyList<StepRunWrite> writes)
    {
        var merged = new List<StepRunWrite>(writes.Count);
        Dictionary<string, int>? startedAt = null;
        foreach (var write in writes)
        {
            switch (write)
            {
                case StepRunStarted started:
                    (startedAt ??= new Dictionary<string, int>(StringComparer.Ordinal))[started.StepRunId] = merged.Count;
                    merged.Add(started);
                    break;
                case StepRunFinished finished when startedAt?.Remove(finished.Id, out var i) == true:
                    var start = (StepRunStarted)merged[i];
                    merged[i] = new StepRunRecorded(start.StepRun with { Status = finished.Status, FinishedAt = finished.FinishedAt, Error = finished.Error },
                        start.Inputs, finished.NewArtifacts, finished.Outputs);
                    break;
                default:
                    merged.Add(write);
                    break;
            }
        }
        return merged;
    }

    private static async Task ApplyAsync(DbConnection conn, DbTransaction tx, StepRunWrite write, CancellationToken cancellationToken)
    {
        switch (write)
        {
            case StepRunStarted w:
                await InsertStepRunAsync(conn, tx, w.StepRun, w.Inputs, cancellationToken).ConfigureAwait(false);
                break;
            case StepRunFinished w:
                await InsertOutputsAsync(conn, tx, w.Id, w.NewArtifacts, w.Outputs, cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(conn, tx, "UPDATE step_runs SET status = @st, finished_at = @f, error = @e WHERE id = @id", cancellationToken,
                    ("st", StatusKey(w.Status)), ("f", Time(w.FinishedAt)), ("e", w.Error), ("id", w.Id)).ConfigureAwait(false);
                break;
            case StepRunRecorded w:
                var stepRun = w.StepRun.FinishedAt is null ? w.StepRun with { FinishedAt = TimeProvider.System.GetUtcNow() } : w.StepRun;
                await InsertStepRunAsync(conn, tx, stepRun, w.Inputs, cancellationToken).ConfigureAwait(false);
                await InsertOutputsAsync(conn, tx, w.StepRunId, w.NewArtifacts, w.Outputs, cancellationToken).ConfigureAwait(false);
                break;
            case StepLogSaved w:
                await ExecuteAsync(conn, tx,
                    "INSERT INTO step_logs (step_run_id, content) VALUES (@s, @c) ON CONFLICT (step_run_id) DO UPDATE SET content = excluded.content",
                    cancellationToken, ("s", w.Id), ("c", w.Log)).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentException($"Unknown step-run write {write.GetType().Name}.", nameof(write));
        }
    }

    private static async Task InsertStepRunAsync(DbConnection conn, DbTransaction tx, StepRunRecord s, IReadOnlyList<(string Name, string ArtifactId)> inputs,
        CancellationToken cancellationToken)
    {
        await ExecuteAsync(conn, tx,
            "INSERT INTO step_runs (id, run_id, name, step_full_name, code_version, cache_key, status, started_at, finished_at, error, cached_from, " +
            "parameters, attempt, step_operator, job) " +
            "VALUES (@id, @r, @n, @fn, @cv, @ck, @st, @sa, @fa, @e, @cf, @p, @a, @so, @j)", cancellationToken,
            ("id", s.Id), ("r", s.RunId), ("n", s.Name), ("fn", s.StepFullName), ("cv", s.CodeVersion), ("ck", s.CacheKey), ("st", StatusKey(s.Status)),
            ("sa", s.StartedAt is { } sa ? Time(sa) : null), ("fa", s.FinishedAt is { } fa ? Time(fa) : null), ("e", s.Error), ("cf", s.CachedFromStepRunId),
            ("p", s.ParametersJson), ("a", s.Attempt), ("so", s.StepOperator), ("j", s.Job)).ConfigureAwait(false);
        foreach (var (name, artifactId) in inputs)
            await ExecuteAsync(conn, tx, "INSERT INTO step_inputs (step_run_id, name, artifact_id) VALUES (@s, @n, @a)", cancellationToken,
                ("s", s.Id), ("n", name), ("a", artifactId)).ConfigureAwait(false);
    }

    private static async Task InsertOutputsAsync(DbConnection conn, DbTransaction tx, string stepRunId,
        IReadOnlyList<ArtifactRecord> newArtifacts, IReadOnlyList<(string Name, string ArtifactId)> outputs, CancellationToken cancellationToken)
    {
        foreach (var a in newArtifacts)
            await ExecuteAsync(conn, tx,
                "INSERT INTO artifacts (id, uri, type_name, materializer, materializer_version, content_hash, size, producer_step_run_id, output_name, " +
                "created_at) " +
                "VALUES (@id, @u, @t, @m, @mv, @h, @s, @p, @o, @c)", cancellationToken,
                ("id", a.Id), ("u", a.Uri), ("t", a.TypeName), ("m", a.Materializer), ("mv", a.MaterializerVersion), ("h", a.ContentHash),
                ("s", a.Size), ("p", a.ProducerStepRunId), ("o", a.OutputName), ("c", Time(a.CreatedAt))).ConfigureAwait(false);
        foreach (var (name, artifactId) in outputs)
            await ExecuteAsync(conn, tx, "INSERT INTO step_outputs (step_run_id, name, artifact_id) VALUES (@s, @n, @a)", cancellationToken,
                ("s", stepRunId), ("n", name), ("a", artifactId)).ConfigureAwait(false);
    }

    private const string StepColumns = "id, run_id, name, step_full_name, code_version, cache_key, status, started_at, finished_at, error, cached_from, " +
        "parameters, attempt, step_operator, job";

    private static readonly string PrefixedStepColumns = string.Join(", ", StepColumns.Split(", ").Select(c => "s." + c));

    public Task SetStepJobAsync(string stepRunId, string stepOperator, string job, CancellationToken cancellationToken = default) => WriteAsync((conn, tx) =>
        ExecuteAsync(conn, tx, "UPDATE step_runs SET step_operator = @o, job = @j WHERE id = @id", cancellationToken, ("o", stepOperator), ("j", job),
            ("id", stepRunId)), cancellationToken);

    public Task<IReadOnlyList<StepRunRecord>> ListStepRunsAsync(string runId, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {StepColumns} FROM step_runs WHERE run_id = @r ORDER BY started_at, name, attempt", ReadStepRun, cancellationToken, ("r", runId));

    // The run's index leads with run_id, so only that run's entries are read for the name; no index is kept for this alone.
    public Task<IReadOnlyList<StepRunRecord>> ListStepAttemptsAsync(string runId, string stepName, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {StepColumns} FROM step_runs WHERE run_id = @r AND name = @n ORDER BY attempt", ReadStepRun, cancellationToken,
            ("r", runId), ("n", stepName));

    public async Task<IReadOnlyDictionary<ExecutionStatus, int>> CountStepRunsAsync(string runId, CancellationToken cancellationToken = default)
    {
        if (await StoredCountsAsync(runId, cancellationToken).ConfigureAwait(false) is not { } stored)
            return (await CountByStatusAsync(runId, cancellationToken).ConfigureAwait(false)).Counts;
        var all = new Dictionary<ExecutionStatus, int>(stored.Latest);
        foreach (var (state, count) in stored.Earlier) all[state] = all.GetValueOrDefault(state) + count;
        return all;
    }

    /// <summary>The counts stored with a finished run (<see cref="FinishRunAsync"/>), or null.</summary>
    private async Task<StepCounts?> StoredCountsAsync(string runId, CancellationToken cancellationToken) =>
        (await QueryAsync("SELECT step_counts FROM runs WHERE id = @r AND finished_at IS NOT NULL AND step_counts IS NOT NULL",
            r => r.GetString(0), cancellationToken, ("r", runId)).ConfigureAwait(false)) is [var text] ? StepCountsText.Read(text) : null;

    // One column per state rather than GROUP BY status, which would sort every row (the run's index is in name order).
    private static readonly string CountByStatusSql = "SELECT " +
        string.Concat(Enum.GetValues<ExecutionStatus>().Select(s => $"COUNT(*) FILTER (WHERE status = '{StatusKey(s)}'), ")) +
        "COUNT(*) FILTER (WHERE attempt > 1) FROM step_runs WHERE run_id = @r";

    /// <summary>A run's step runs by state, in one scan of its index, and whether any is a later attempt.</summary>
    private async Task<(Dictionary<ExecutionStatus, int> Counts, bool Retried)> CountByStatusAsync(string runId, CancellationToken cancellationToken)
    {
        var states = Enum.GetValues<ExecutionStatus>();
        return (await QueryAsync(CountByStatusSql, r =>
        {
            var counts = new Dictionary<ExecutionStatus, int>();
            for (var i = 0; i < states.Length; i++)
                if (Convert.ToInt32(r.GetValue(i), CultureInfo.InvariantCulture) is var n and > 0) counts[states[i]] = n;
            return (counts, Convert.ToInt64(r.GetValue(states.Length), CultureInfo.InvariantCulture) > 0);
        }, cancellationToken, ("r", runId)).ConfigureAwait(false)).Single();
    }

    /// <remarks>
    /// A finished run's counts are those stored with it as it finished. Otherwise:
    /// all step runs less those a later attempt of the same step superseded. A step's step runs are told apart by their attempt
    /// (a retry or a resume takes the next one), so only a run with a later attempt has superseded step runs, and only the steps
    /// with one are ranked: a run of 100,000 steps without retries costs one scan of its index, not a sort of all its rows.
    /// </remarks>
    public async Task<StepCounts> CountStepsAsync(string runId, CancellationToken cancellationToken = default) =>
        await StoredCountsAsync(runId, cancellationToken).ConfigureAwait(false) ?? await ScanCountsAsync(runId, cancellationToken).ConfigureAwait(false);

    private async Task<StepCounts> ScanCountsAsync(string runId, CancellationToken cancellationToken)
    {
        var (latest, retried) = await CountByStatusAsync(runId, cancellationToken).ConfigureAwait(false);
        var earlier = new Dictionary<ExecutionStatus, int>();
        if (!retried) return new StepCounts(latest, earlier);
        var superseded = await QueryAsync("SELECT status, COUNT(*) FROM (SELECT status, " +
            "ROW_NUMBER() OVER (PARTITION BY name ORDER BY attempt DESC, started_at DESC) AS n FROM step_runs WHERE run_id = @r AND name IN " +
            "(SELECT name FROM step_runs WHERE run_id = @r AND attempt > 1)) ranked WHERE n > 1 GROUP BY status",
            r => (Status: ParseStatus(r.GetString(0)), Count: Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture)), cancellationToken,
            ("r", runId)).ConfigureAwait(false);
        foreach (var (status, count) in superseded)
        {
            earlier[status] = count;
            if ((latest[status] -= count) == 0) latest.Remove(status);
        }
        return new StepCounts(latest, earlier);
    }

    public async Task<StepRunRecord?> GetStepRunAsync(string stepRunId, CancellationToken cancellationToken = default) =>
        (await QueryAsync($"SELECT {StepColumns} FROM step_runs WHERE id = @i", ReadStepRun, cancellationToken, ("i", stepRunId))
            .ConfigureAwait(false)).SingleOrDefault();

    // The first step runs that did not succeed and the first that did, each read from the run's index in listing order (the
    // index holds the status), so neither sorts the run's step runs. A finished run whose stored counts have only successes skips
    // the first (LIMIT 0), which would otherwise read the whole index looking for none.
    public async Task<IReadOnlyList<StepRunRecord>> ListStepRunsAsync(string runId, int limit, CancellationToken cancellationToken = default)
    {
        var settledOnly = await StoredCountsAsync(runId, cancellationToken).ConfigureAwait(false) is { } counts
            && counts.Latest.Keys.Concat(counts.Earlier.Keys).All(s => s is ExecutionStatus.Completed or ExecutionStatus.Cached);
        return await QueryAsync(ListFirstStepRunsSql, ReadStepRun, cancellationToken, ("r", runId), ("n", limit), ("u", settledOnly ? 0 : limit))
            .ConfigureAwait(false);
    }

    private static readonly string SettledStatuses = $"('{StatusKey(ExecutionStatus.Completed)}', '{StatusKey(ExecutionStatus.Cached)}')";

    private static readonly string ListFirstStepRunsSql = $"SELECT {StepColumns} FROM (" +
        $"SELECT * FROM (SELECT 0 AS settled, {StepColumns} FROM step_runs WHERE run_id = @r AND status NOT IN {SettledStatuses} " +
        "ORDER BY started_at, name, attempt LIMIT @u) unsettled UNION ALL " +
        $"SELECT * FROM (SELECT 1 AS settled, {StepColumns} FROM step_runs WHERE run_id = @r AND status IN {SettledStatuses} " +
        "ORDER BY started_at, name, attempt LIMIT @n) settled " +
        "ORDER BY settled, started_at, name, attempt LIMIT @n) chosen ORDER BY started_at, name, attempt";

    private static StepRunRecord ReadStepRun(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
        ParseStatus(r.GetString(6)), r.IsDBNull(7) ? null : ParseTime(r.GetString(7)), r.IsDBNull(8) ? null : ParseTime(r.GetString(8)),
        r.IsDBNull(9) ? null : r.GetString(9), r.IsDBNull(10) ? null : r.GetString(10), r.GetString(11),
        Convert.ToInt32(r.GetValue(12), CultureInfo.InvariantCulture), r.IsDBNull(13) ? null : r.GetString(13), r.IsDBNull(14) ? null : r.GetString(14));

    // One statement for the step run and its outputs: a run asks this once for every cached step, so it is kept prepared.
    private static readonly string FindCachedSql = $"SELECT {PrefixedStepColumns}, l.name, {ArtifactColumns} FROM step_runs s " +
        "LEFT JOIN step_outputs l ON l.step_run_id = s.id LEFT JOIN artifacts a ON a.id = l.artifact_id " +
        "WHERE s.id = (SELECT id FROM step_runs WHERE cache_key = @k AND status = 'completed' ORDER BY finished_at DESC LIMIT 1) ORDER BY l.name";

    public async Task<(StepRunRecord StepRun, IReadOnlyList<StepArtifactLink> Outputs)?> FindCachedAsync(string cacheKey,
        CancellationToken cancellationToken = default)
    {
        var connection = await RentReaderAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var reader = await ReaderAsync(connection, null, FindCachedSql, cancellationToken, ("k", cacheKey)).ConfigureAwait(false);
            StepRunRecord? stepRun = null;
            var outputs = new List<StepArtifactLink>();
            const int output = 15; // after the step run's columns
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                stepRun ??= ReadStepRun(reader);
                if (!reader.IsDBNull(output)) outputs.Add(new StepArtifactLink(stepRun.Id, reader.GetString(output), ReadArtifact(reader, output + 1)));
            }
            return stepRun is null ? null : (stepRun, outputs);
        }
        finally
        {
            await ReturnReaderAsync(connection).ConfigureAwait(false);
        }
    }

    // The most recently finished successful step runs of one definition (the index has them in that order), with their outputs.
    // No ORDER BY over the join: the rows are grouped here, which costs less than the database sorting every column.
    private static readonly string ListCachedSql = $"SELECT s.cache_key, s.id, s.finished_at, l.name, {ArtifactColumns} FROM (" +
        "SELECT id, cache_key, finished_at FROM step_runs WHERE step_full_name = @f AND code_version = @v AND status = 'completed' " +
        "AND cache_key IS NOT NULL ORDER BY finished_at DESC LIMIT @limit) s " +
        "LEFT JOIN step_outputs l ON l.step_run_id = s.id LEFT JOIN artifacts a ON a.id = l.artifact_id";

    public async Task<(IReadOnlyList<CachedStepRun> Entries, bool Complete)?> ListCachedAsync(string stepFullName, string codeVersion, int limit,
        CancellationToken cancellationToken = default)
    {
        // Per key the latest step run (finished_at is written in one sortable form), and each step run's outputs.
        var latest = new Dictionary<string, (string FinishedAt, string Id, List<StepArtifactLink> Outputs)>(StringComparer.Ordinal);
        var stepRuns = new HashSet<string>(StringComparer.Ordinal);
        await using (var connection = await OpenAsync(cancellationToken).ConfigureAwait(false))
        await using (var reader = await ReaderAsync(connection, null, ListCachedSql, cancellationToken, ("f", stepFullName), ("v", codeVersion),
            ("limit", limit)).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var (key, id, finishedAt) = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
                stepRuns.Add(id);
                if (!latest.TryGetValue(key, out var entry) || (entry.Id != id && string.CompareOrdinal(finishedAt, entry.FinishedAt) > 0))
                    latest[key] = entry = (finishedAt, id, []);
                if (entry.Id == id && !reader.IsDBNull(3)) entry.Outputs.Add(new StepArtifactLink(id, reader.GetString(3), ReadArtifact(reader, 4)));
            }
        }
        var entries = new List<CachedStepRun>(latest.Count);
        foreach (var (key, (_, id, outputs)) in latest)
        {
            if (outputs.Count > 1) outputs.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            entries.Add(new CachedStepRun(key, id, outputs));
        }
        return (entries, stepRuns.Count < limit);
    }

    public Task<IReadOnlyList<StepArtifactLink>> GetStepOutputsAsync(string runId, CancellationToken cancellationToken = default) =>
        LinksAsync("step_outputs", "l.step_run_id IN (SELECT id FROM step_runs WHERE run_id = @x)", cancellationToken, ("x", runId));

    public Task<IReadOnlyList<StepArtifactLink>> GetStepOutputsAsync(IReadOnlyCollection<string> stepRunIds, CancellationToken cancellationToken = default) =>
        LinksOfAsync("step_outputs", stepRunIds, "", cancellationToken);

    public Task<IReadOnlyList<StepArtifactLink>> GetStepInputsAsync(string runId, CancellationToken cancellationToken = default) =>
        LinksAsync("step_inputs", "l.step_run_id IN (SELECT id FROM step_runs WHERE run_id = @x)", cancellationToken, ("x", runId));

    public Task<IReadOnlyList<StepArtifactLink>> GetStepRunInputsAsync(string runId, IReadOnlyCollection<string> stepRunIds,
        CancellationToken cancellationToken = default) =>
        LinksOfAsync("step_inputs", stepRunIds, " AND EXISTS (SELECT 1 FROM step_runs s WHERE s.id = l.step_run_id AND s.run_id = @x)",
            cancellationToken, ("x", runId));

    /// <summary>The links of these step runs (a parameter each), and <paramref name="andWhere"/>.</summary>
    private Task<IReadOnlyList<StepArtifactLink>> LinksOfAsync(string table, IReadOnlyCollection<string> stepRunIds, string andWhere,
        CancellationToken cancellationToken, params (string, object?)[] args) =>
        stepRunIds.Count == 0
            ? Task.FromResult<IReadOnlyList<StepArtifactLink>>([])
            : LinksAsync(table, $"l.step_run_id IN ({string.Join(", ", stepRunIds.Select((_, i) => $"@s{i}"))}){andWhere}", cancellationToken,
                [.. args, .. stepRunIds.Select((id, i) => ($"s{i}", (object?)id))]);

    private const string ArtifactColumns = "a.id, a.uri, a.type_name, a.materializer, a.materializer_version, a.content_hash, a.size, " +
        "a.producer_step_run_id, a.output_name, a.created_at";

    private Task<IReadOnlyList<StepArtifactLink>> LinksAsync(string table, string where, CancellationToken cancellationToken,
        params (string, object?)[] args) =>
        QueryAsync($"SELECT l.step_run_id, l.name, {ArtifactColumns} FROM {table} l JOIN artifacts a ON a.id = l.artifact_id WHERE {where} ORDER BY " +
            "l.step_run_id, l.name",
            r => new StepArtifactLink(r.GetString(0), r.GetString(1), ReadArtifact(r, 2)), cancellationToken, args);

    private static ArtifactRecord ReadArtifact(DbDataReader r, int o) => new(
        r.GetString(o), r.GetString(o + 1), r.GetString(o + 2), r.GetString(o + 3), Convert.ToInt32(r.GetValue(o + 4), CultureInfo.InvariantCulture),
        r.GetString(o + 5), Convert.ToInt64(r.GetValue(o + 6), CultureInfo.InvariantCulture), r.IsDBNull(o + 7) ? null : r.GetString(o + 7),
        r.GetString(o + 8), ParseTime(r.GetString(o + 9)));

    // ---- artifacts ----

    public async Task<IReadOnlyList<(StepRunRecord StepRun, string Input)>> GetArtifactConsumersAsync(string artifactId,
        CancellationToken cancellationToken = default) =>
        await QueryAsync($"SELECT {PrefixedStepColumns}, i.name FROM step_inputs i JOIN step_runs s ON s.id = i.step_run_id WHERE i.artifact_id = @a " +
            "ORDER BY s.started_at, s.id", r => (ReadStepRun(r), r.GetString(15)), cancellationToken, ("a", artifactId)).ConfigureAwait(false);

    public async Task<ArtifactRecord?> FindArtifactAsync(string idOrPrefix, CancellationToken cancellationToken = default)
    {
        // Ids are time-ordered, so their starts are alike; a unique end (as `strata run show` prints) is accepted too.
        var part = EscapeLike(idOrPrefix.ToLowerInvariant());
        var rows = part.Length >= 4
            ? await QueryAsync($"SELECT {ArtifactColumns} FROM artifacts a WHERE a.id = @k OR a.id LIKE @p OR a.id LIKE @s LIMIT 2", r => ReadArtifact(r, 0),
                cancellationToken,
                ("k", idOrPrefix), ("p", part + "%"), ("s", "%" + part)).ConfigureAwait(false)
            : await QueryAsync($"SELECT {ArtifactColumns} FROM artifacts a WHERE a.id = @k", r => ReadArtifact(r, 0), cancellationToken,
                ("k", idOrPrefix)).ConfigureAwait(false);
        var exact = rows.FirstOrDefault(a => a.Id == idOrPrefix);
        if (exact is not null) return exact;
        return rows.Count switch
        {
            1 => rows[0],
            0 => null,
            _ => throw new StrataConfigException($"Artifact id part '{idOrPrefix}' matches several artifacts; give more characters."),
        };
    }

    public async Task<IReadOnlyList<ArtifactRecord>> ListArtifactsAsync(string? runId = null, int limit = 100, CancellationToken cancellationToken = default) =>
        runId is null
            ? await QueryAsync($"SELECT {ArtifactColumns} FROM artifacts a ORDER BY a.created_at DESC, a.id DESC LIMIT @l", r => ReadArtifact(r, 0),
                cancellationToken, ("l", limit)).ConfigureAwait(false)
            : await QueryAsync($"SELECT {ArtifactColumns} FROM artifacts a JOIN step_runs s ON s.id = a.producer_step_run_id WHERE s.run_id = @r ORDER BY " +
                "a.created_at, a.id LIMIT @l",
                r => ReadArtifact(r, 0), cancellationToken, ("r", runId), ("l", limit)).ConfigureAwait(false);

    // ---- secrets ----

    private const string SecretColumns = "id, name, keys, payload, created_at, updated_at";

    public Task PutSecretAsync(SecretRecord secret, bool replace, CancellationToken cancellationToken = default) => WriteAsync(async (conn, tx) =>
    {
        var exists = await ScalarAsync(conn, tx, "SELECT id FROM secrets WHERE name = @n", cancellationToken,
            ("n", secret.Name)).ConfigureAwait(false) is not null;
        if (exists && !replace)
            throw new StrataConfigException($"A secret named '{secret.Name}' already exists; change it with `strata secret update {secret.Name}`.");
        if (!exists && replace)
            throw new StrataConfigException($"No secret named '{secret.Name}'; see `strata secret list`.");
        if (exists)
            await ExecuteAsync(conn, tx, "UPDATE secrets SET keys = @k, payload = @p, updated_at = @u WHERE name = @n", cancellationToken,
                ("k", JsonSerializer.Serialize(secret.Keys)), ("p", secret.Payload), ("u", Time(secret.UpdatedAt)), ("n", secret.Name)).ConfigureAwait(false);
        else
            await ExecuteAsync(conn, tx, "INSERT INTO secrets (id, name, keys, payload, created_at, updated_at) VALUES (@id, @n, @k, @p, @c, @u)",
                cancellationToken,
                ("id", secret.Id), ("n", secret.Name), ("k", JsonSerializer.Serialize(secret.Keys)), ("p", secret.Payload),
                ("c", Time(secret.CreatedAt)), ("u", Time(secret.UpdatedAt))).ConfigureAwait(false);
    }, cancellationToken);

    public async Task<SecretRecord?> GetSecretAsync(string name, CancellationToken cancellationToken = default) =>
        (await QueryAsync($"SELECT {SecretColumns} FROM secrets WHERE name = @n", ReadSecret, cancellationToken,
            ("n", name)).ConfigureAwait(false)).FirstOrDefault();

    public Task<IReadOnlyList<SecretRecord>> ListSecretsAsync(CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {SecretColumns} FROM secrets ORDER BY name", ReadSecret, cancellationToken);

    public Task DeleteSecretAsync(string name, CancellationToken cancellationToken = default) => WriteAsync(async (conn, tx) =>
    {
        if (await ExecuteAsync(conn, tx, "DELETE FROM secrets WHERE name = @n", cancellationToken, ("n", name)).ConfigureAwait(false) == 0)
            throw new StrataConfigException($"No secret named '{name}'; see `strata secret list`.");
    }, cancellationToken);

    private static SecretRecord ReadSecret(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), JsonSerializer.Deserialize<string[]>(r.GetString(2)) ?? [], r.GetString(3), ParseTime(r.GetString(4)),
        ParseTime(r.GetString(5)));

    // ---- logs ----

    public async Task<string?> GetStepLogAsync(string stepRunId, CancellationToken cancellationToken = default) =>
        (await QueryAsync("SELECT content FROM step_logs WHERE step_run_id = @s", r => r.GetString(0), cancellationToken,
            ("s", stepRunId)).ConfigureAwait(false)).FirstOrDefault();

    // ---- plumbing ----

    protected virtual async Task WriteAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await work(connection, tx).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken,
        params (string Name, object? Value)[] args)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var reader = await ReaderAsync(connection, null, sql, cancellationToken, args).ConfigureAwait(false);
        var list = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) list.Add(read(reader));
        return list;
    }

    /// <summary>Connections whose commands are kept, prepared, for the next statement with the same text (long-lived write connections).</summary>
    private static readonly ConditionalWeakTable<DbConnection, Dictionary<string, DbCommand>> Prepared = new();

    /// <summary>Keeps this connection's commands prepared: the same few statements run on it over and over.</summary>
    protected static void KeepPrepared(DbConnection connection) => Prepared.AddOrUpdate(connection, new Dictionary<string, DbCommand>(StringComparer.Ordinal));

    private static (DbCommand Command, bool Kept) Command(DbConnection connection, DbTransaction? tx, string sql, (string Name, object? Value)[] args)
    {
        if (Prepared.TryGetValue(connection, out var kept) && kept.TryGetValue(sql, out var command))
        {
            command.Transaction = tx;
            // The same statement comes from the same call, with its arguments in the order they were added in: found by position.
            for (var i = 0; i < args.Length; i++)
            {
                var (name, value) = args[i];
                var parameter = i < command.Parameters.Count && command.Parameters[i].ParameterName.AsSpan(1).SequenceEqual(name)
                    ? command.Parameters[i]
                    : command.Parameters["@" + name];
                parameter.Value = value ?? DBNull.Value;
            }
            return (command, true);
        }
        command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        foreach (var (name, value) in args)
        {
            var p = command.CreateParameter();
            p.ParameterName = "@" + name; // as the SQL writes it: SQLite finds it at once instead of first trying the bare name
            p.Value = value ?? DBNull.Value;
            command.Parameters.Add(p);
        }
        if (kept is null) return (command, false);
        kept[sql] = command;
        return (command, true);
    }

    /// <summary>Runs statements on one connection more directly than its commands do; a statement it does not take goes to the commands.</summary>
    internal interface IDirectStatements
    {
        bool TryExecute(string sql, (string Name, object? Value)[] args, out int changes);
    }

    private static readonly ConditionalWeakTable<DbConnection, IDirectStatements> Direct = new();

    /// <summary>Has <paramref name="statements"/> run the statements (not the queries) on this connection that they take.</summary>
    private protected static void RunDirectly(DbConnection connection, IDirectStatements statements) => Direct.AddOrUpdate(connection, statements);

    protected static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken cancellationToken,
        params (string, object?)[] args)
    {
        if (Direct.TryGetValue(connection, out var direct) && direct.TryExecute(sql, args, out var changes)) return changes;
        var (command, kept) = Command(connection, tx, sql, args);
        try
        {
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (!kept) await command.DisposeAsync().ConfigureAwait(false);
        }
    }

    protected static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken cancellationToken,
        params (string, object?)[] args)
    {
        var (command, kept) = Command(connection, tx, sql, args);
        try
        {
            var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return value is DBNull ? null : value;
        }
        finally
        {
            if (!kept) await command.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<DbDataReader> ReaderAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken cancellationToken,
        params (string, object?)[] args)
    {
        var (command, _) = Command(connection, tx, sql, args);
        return await command.ExecuteReaderAsync(CommandBehavior.Default, cancellationToken).ConfigureAwait(false);
    }

    internal static string TypeKey(ComponentType t) => Display(t).Replace('-', '_');
    internal static ComponentType ParseType(string s) => ComponentTypes.Parse(s.Replace('_', '-'));
    internal static string Display(ComponentType t) => ComponentTypes.CliName(t);
    internal static string StatusKey(ExecutionStatus s) =>
        (uint)s < (uint)StatusKeys.All.Length ? StatusKeys.All[(int)s] : s.ToString().ToLowerInvariant();

    /// <summary>
    /// The stored form of each state, by its value (the enum's values are 0, 1, 2...): a class of its own, so it is set up
    /// before the statements above that name states.
    /// </summary>
    private static class StatusKeys
    {
        public static readonly string[] All = Enum.GetNames(typeof(ExecutionStatus)).Select(n => n.ToLowerInvariant()).ToArray();
    }

    internal static ExecutionStatus ParseStatus(string s)
    {
        // Read for every step run: a look-up among the few keys, not Enum.Parse (whose generic code each process compiles).
        var i = Array.IndexOf(StatusKeys.All, s);
        return i >= 0 ? (ExecutionStatus)i : Enum.Parse<ExecutionStatus>(s, ignoreCase: true);
    }
    /// <summary>
    /// A time as the store keeps it, <c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c> (sortable as text): the round-trip form of the UTC time,
    /// which .NET writes without reading a format pattern, several times faster than the same pattern spelled out.
    /// </summary>
    internal static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    internal static DateTimeOffset ParseTime(string s)
    {
        // The form Time writes (28 characters, UTC) parses as UTF-8 round-trip form about 20 times faster than through the
        // general parser, which counts when reading the steps and artifacts of a large run.
        Span<byte> utf8 = stackalloc byte[28];
        if (s.Length == utf8.Length && s[^1] == 'Z' && System.Text.Encoding.ASCII.TryGetBytes(s, utf8, out _)
            && System.Buffers.Text.Utf8Parser.TryParse(utf8, out DateTimeOffset parsed, out var used, 'O') && used == utf8.Length)
            return parsed;
        return DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
    }

    /// <summary>Ids are lower-case hex and '-': anything else cannot match, so it is dropped rather than escaped.</summary>
    private static string EscapeLike(string s) => new(s.Where(c => char.IsAsciiHexDigit(c) || c == '-').ToArray());

    private static StrataConfigException NoSuchComponent(ComponentType type, string name) =>
        new($"No {Display(type)} named '{name}'; see `strata {Display(type)} list`.");

    private static StrataConfigException NoSuchStack(string name) => new($"No stack named '{name}'; see `strata stack list`.");
}

/// <summary>
/// A run's stored step counts as text, <c>completed=3,failed=1|failed=1</c>: each step by its latest attempt, then the earlier
/// attempts, states as the store spells them. Plain text rather than JSON: reading it is the one thing a `strata run show`
/// of a finished run does with it, and a JSON parser's first use costs a short process milliseconds.
/// </summary>
internal static class StepCountsText
{
    public static string Write(StepCounts counts) => Part(counts.Latest) + "|" + Part(counts.Earlier);

    private static string Part(IReadOnlyDictionary<ExecutionStatus, int> part) =>
        string.Join(',', part.Select(p => $"{SqlMetadataStore.StatusKey(p.Key)}={p.Value.ToString(CultureInfo.InvariantCulture)}"));

    public static StepCounts Read(string text)
    {
        var parts = text.Split('|');
        return new StepCounts(Part(parts[0]), Part(parts[1]));

        static Dictionary<ExecutionStatus, int> Part(string part)
        {
            var counts = new Dictionary<ExecutionStatus, int>();
            foreach (var pair in part.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=');
                counts[SqlMetadataStore.ParseStatus(pair[..equals])] = int.Parse(pair.AsSpan(equals + 1), CultureInfo.InvariantCulture);
            }
            return counts;
        }
    }
}
