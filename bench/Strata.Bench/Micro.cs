using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.Data.Sqlite;
using Strata.Artifacts;
using Strata.Store;

namespace Strata.Bench;

/// <summary>
/// The parts of one step, each alone (BenchmarkDotNet, in process): what a metadata-store write costs, what its
/// connection set-up costs, what writing a one-int artifact costs and what the same file operations cost bare.
/// </summary>
[MemoryDiagnoser]
public class StepPartsBenchmarks
{
    private string _dir = null!;
    private StrataClient _client = null!;
    private IMetadataStore _store = null!;
    private LocalArtifactStore _artifacts = null!;
    private Materializer _intMaterializer = null!;
    private string _connectionString = null!;
    private string _runId = null!;
    private int _counter;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"strata-bench-micro-{Guid.NewGuid():n}");
        _client = StrataClient.OpenAsync(new StrataHome(_dir)).GetAwaiter().GetResult();
        _store = _client.Store;
        _artifacts = new LocalArtifactStore(Path.Combine(_dir, "artifacts"));
        _intMaterializer = MaterializerRegistry.Default.Get(typeof(int));
        _runId = Guid.CreateVersion7().ToString();
        _store.CreateRunAsync(new RunRecord(_runId, "micro", "micro", "default", ExecutionStatus.Running, DateTimeOffset.UtcNow, null, null, 0)).GetAwaiter().GetResult();
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(_dir, "strata.db"), Mode = SqliteOpenMode.ReadWriteCreate, Cache = SqliteCacheMode.Private, Pooling = true, DefaultTimeout = 60,
        }.ToString();
        Directory.CreateDirectory(Path.Combine(_dir, "raw"));
        StoreCreateAndFinishStepRun().GetAwaiter().GetResult();
        _hitId = _store.ListStepRunsAsync(_runId).GetAwaiter().GetResult()[^1].Id;
        PrepareFloor();
    }

    private string _hitId = "";

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var c in _prepared) c.Dispose();
        _open.Dispose();
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>What every store call starts with: a pooled connection and the three PRAGMAs the SQLite store sets on it.</summary>
    [Benchmark]
    public async Task SqliteOpenConnectionWithPragmas()
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";
        await pragma.ExecuteNonQueryAsync();
    }

    /// <summary>A pooled connection alone, without the PRAGMAs.</summary>
    [Benchmark]
    public async Task SqliteOpenConnection()
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
    }

    /// <summary>BEGIN IMMEDIATE, one small INSERT, COMMIT, on a pooled connection set up as the store sets it (WAL, synchronous=NORMAL: no fsync per commit).</summary>
    [Benchmark]
    public async Task SqliteOneInsertTransaction()
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
        await using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";
            await pragma.ExecuteNonQueryAsync();
        }
        await InsertOneAsync(connection);
    }

    /// <summary>The same with SQLite's default synchronous=FULL: every commit waits for an fsync of the WAL (what durable commits would cost here).</summary>
    [Benchmark]
    public async Task SqliteOneInsertTransactionSynchronousFull()
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
        await using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;";
            await pragma.ExecuteNonQueryAsync();
        }
        await InsertOneAsync(connection);
    }

    private async Task InsertOneAsync(SqliteConnection connection)
    {
        await using var tx = connection.BeginTransaction(deferred: false);
        await using var insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT INTO settings (key, value) VALUES (@k, 'v')";
        insert.Parameters.AddWithValue("@k", $"micro-{_counter++}");
        await insert.ExecuteNonQueryAsync();
        await tx.CommitAsync();
    }

    /// <summary>The two store writes of one uncached step: CreateStepRun (with one input) and FinishStepRun (one artifact, one output).</summary>
    [Benchmark]
    public async Task StoreCreateAndFinishStepRun()
    {
        var id = Guid.CreateVersion7().ToString();
        var artifactId = Guid.CreateVersion7().ToString();
        var now = DateTimeOffset.UtcNow;
        await _store.CreateStepRunAsync(new StepRunRecord(id, _runId, $"inc_{_counter++}", "Strata.Bench.BenchSteps.Inc", "v", "key-" + id,
            ExecutionStatus.Running, now, null, null, null, "{}"), []);
        await _store.FinishStepRunAsync(id, ExecutionStatus.Completed, now, null,
            [new ArtifactRecord(artifactId, "file:///x/" + id, "System.Int32, System.Private.CoreLib", "strata.primitive", 1, "xxh128:0", 1, id, "output", now)],
            [("output", artifactId)]);
    }

    /// <summary>
    /// The floor for the same rows: one step's step_runs, artifacts and step_outputs rows and the status update, in one
    /// transaction on a connection kept open, with the commands prepared once.
    /// </summary>
    [Benchmark]
    public void SqliteStepRowsOneTransactionPrepared()
    {
        var id = Guid.CreateVersion7().ToString();
        var artifactId = Guid.CreateVersion7().ToString();
        var now = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        using var tx = _open.BeginTransaction(deferred: false);
        foreach (var c in _prepared) c.Transaction = tx;
        Set(_prepared[0], id, _runId, $"inc_{_counter++}", "key-" + id, now);
        _prepared[0].ExecuteNonQuery();
        Set(_prepared[1], artifactId, "file:///x/" + id, id, now);
        _prepared[1].ExecuteNonQuery();
        Set(_prepared[2], id, artifactId);
        _prepared[2].ExecuteNonQuery();
        Set(_prepared[3], now, id);
        _prepared[3].ExecuteNonQuery();
        tx.Commit();
    }

    private static void Set(SqliteCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i];
    }

    private SqliteConnection _open = null!;
    private SqliteCommand[] _prepared = null!;

    private void PrepareFloor()
    {
        _open = new SqliteConnection(_connectionString);
        _open.Open();
        using (var pragma = _open.CreateCommand())
        {
            pragma.CommandText = "PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";
            pragma.ExecuteNonQuery();
        }
        SqliteCommand Command(string sql, params string[] names)
        {
            var c = _open.CreateCommand();
            c.CommandText = sql;
            foreach (var n in names) c.Parameters.Add(new SqliteParameter(n, ""));
            return c;
        }
        _prepared =
        [
            Command("INSERT INTO step_runs (id, run_id, name, step_full_name, code_version, cache_key, status, started_at, parameters, attempt) " +
                "VALUES (@id, @r, @n, 'Strata.Bench.BenchSteps.Inc', 'v', @ck, 'running', @sa, '{}', 1)", "@id", "@r", "@n", "@ck", "@sa"),
            Command("INSERT INTO artifacts (id, uri, type_name, materializer, materializer_version, content_hash, size, producer_step_run_id, output_name, created_at) " +
                "VALUES (@id, @u, 'System.Int32, System.Private.CoreLib', 'strata.primitive', 1, 'xxh128:0', 1, @p, 'output', @c)", "@id", "@u", "@p", "@c"),
            Command("INSERT INTO step_outputs (step_run_id, name, artifact_id) VALUES (@s, 'output', @a)", "@s", "@a"),
            Command("UPDATE step_runs SET status = 'completed', finished_at = @f WHERE id = @id", "@f", "@id"),
        ];
        foreach (var c in _prepared) c.Prepare();
    }

    /// <summary>A cache lookup that hits: the step run by cache key, then its outputs.</summary>
    [Benchmark]
    public async Task StoreFindCachedHit()
    {
        if (await _store.FindCachedAsync("key-" + _hitId) is null)
            throw new InvalidOperationException("no hit");
    }

    /// <summary>One int saved as an artifact by the local store (temp dir, value.txt, hash, rename into place).</summary>
    [Benchmark]
    public Task<ArtifactContent> ArtifactWriteOneInt() =>
        _artifacts.WriteArtifactAsync($"micro/run/inc_{_counter++}/output", (w, ct) => _intMaterializer.SaveAsync(42, typeof(int), w, ct));

    /// <summary>The same file-system work done bare: make a temp dir, write a 2-byte file, make the parent, rename the dir.</summary>
    [Benchmark]
    public void RawMkdirWriteRename()
    {
        var n = _counter++;
        var temp = Path.Combine(_dir, "raw", ".tmp", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(temp);
        File.WriteAllBytes(Path.Combine(temp, "value.txt"), "42"u8.ToArray());
        var final = Path.Combine(_dir, "raw", "run", $"inc_{n}", "output");
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        Directory.Move(temp, final);
    }

    /// <summary>Planning: build and validate the 1000-step chain.</summary>
    [Benchmark]
    public PipelineDefinition BuildChain1000() => PipelineDefinition.Build(BenchSteps.Chain(1000), "bench_chain");
}

internal static class Micro
{
    public static Task RunAsync(Dictionary<string, string> args)
    {
        var config = ManualConfig.CreateEmpty()
            // Ten measured iterations (not ShortRun's three): the machine is shared, and the median needs a few.
            .AddJob(Job.ShortRun.WithIterationCount(10).WithToolchain(InProcessEmitToolchain.Instance).WithId("inproc"))
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(ConsoleLogger.Default)
            .AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default)
            .WithOptions(ConfigOptions.DisableLogFile | ConfigOptions.JoinSummary)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "strata-bench-bdn"));
        var filter = args.GetValueOrDefault("filter");
        if (filter is { Length: > 0 })
            config = config.AddFilter(new BenchmarkDotNet.Filters.NameFilter(n => n.Contains(filter, StringComparison.OrdinalIgnoreCase)));
        Summary summary = BenchmarkRunner.Run<StepPartsBenchmarks>(config);
        var results = new JsonArray();
        foreach (var report in summary.Reports)
        {
            if (report.ResultStatistics is not { } stats) continue;
            results.Add(new JsonObject
            {
                ["name"] = report.BenchmarkCase.Descriptor.WorkloadMethod.Name,
                ["mean_us"] = stats.Mean / 1000,
                ["median_us"] = stats.Median / 1000,
                ["stddev_us"] = stats.StandardDeviation / 1000,
                ["allocated_bytes"] = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase),
            });
        }
        Child.Finish(args, new JsonObject { ["benchmarks"] = results });
        return Task.CompletedTask;
    }
}
