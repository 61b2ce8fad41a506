namespace Strata.Store;

/// <summary>
/// The schema, as forward-only migrations. Migration N moves a store from version N-1 to N. Never edit a shipped
/// migration: add the next one. The SQL is the common subset of SQLite and PostgreSQL.
/// </summary>
internal static class Migrations
{
    public static IReadOnlyList<string> All { get; } =
    [
        """
        CREATE TABLE components (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, flavor TEXT NOT NULL, config TEXT NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, UNIQUE (type, name));
        CREATE TABLE stacks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE stack_components (
            stack_id TEXT NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
            component_id TEXT NOT NULL REFERENCES components(id),
            position INTEGER NOT NULL, PRIMARY KEY (stack_id, component_id));
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE runs (
            id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, pipeline TEXT NOT NULL, stack TEXT NOT NULL, status TEXT NOT NULL,
            started_at TEXT NOT NULL, finished_at TEXT, error TEXT, step_count INTEGER NOT NULL);
        CREATE INDEX runs_started ON runs (started_at);
        CREATE TABLE step_runs (
            id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL, step_full_name TEXT NOT NULL,
            code_version TEXT NOT NULL, cache_key TEXT, status TEXT NOT NULL, started_at TEXT, finished_at TEXT, error TEXT,
            cached_from TEXT, parameters TEXT NOT NULL, attempt INTEGER NOT NULL, step_operator TEXT);
        CREATE INDEX step_runs_run ON step_runs (run_id);
        CREATE INDEX step_runs_cache ON step_runs (cache_key, status);
        CREATE TABLE artifacts (
            id TEXT PRIMARY KEY, uri TEXT NOT NULL, type_name TEXT NOT NULL, materializer TEXT NOT NULL, materializer_version INTEGER NOT NULL,
            content_hash TEXT NOT NULL, size BIGINT NOT NULL, producer_step_run_id TEXT, output_name TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE INDEX artifacts_producer ON artifacts (producer_step_run_id);
        CREATE TABLE step_outputs (
            step_run_id TEXT NOT NULL REFERENCES step_runs(id), name TEXT NOT NULL, artifact_id TEXT NOT NULL REFERENCES artifacts(id),
            PRIMARY KEY (step_run_id, name));
        CREATE TABLE step_inputs (
            step_run_id TEXT NOT NULL REFERENCES step_runs(id), name TEXT NOT NULL, artifact_id TEXT NOT NULL REFERENCES artifacts(id),
            PRIMARY KEY (step_run_id, name));
        CREATE INDEX step_inputs_artifact ON step_inputs (artifact_id);
        CREATE TABLE step_logs (step_run_id TEXT PRIMARY KEY REFERENCES step_runs(id), content TEXT NOT NULL);
        """,
        // 2: step operators (the job handle of a step run, so status and cancel work after a restart),
        // resuming runs (where the pipeline came from), cancelling from another process, and secrets.
        """
        ALTER TABLE step_runs ADD COLUMN job TEXT;
        ALTER TABLE runs ADD COLUMN source TEXT;
        ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE secrets (
            id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, keys TEXT NOT NULL, payload TEXT NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        """,
        // 3: the run's config (per-step overrides and parallelism, as JSON), so a resume runs the steps as the run meant to.
        """
        ALTER TABLE runs ADD COLUMN config TEXT;
        """,
        // 4: the pipeline's graph with the run (each step and the steps it reads from), so steps that have not run are drawn in place.
        """
        ALTER TABLE runs ADD COLUMN graph TEXT;
        """,
        // 5: the cache's indexes hold successful step runs only, the only ones a cache lookup reads (a cached or failed step run
        // costs no entry in them); the step runs of one step definition, which a run reads its cache entries from at once
        // (ListCachedAsync); and a run's step runs by name and attempt, with their status, so a large run's counts
        // (CountStepRunsAsync, CountLatestStepRunsAsync) read the index alone. That one takes the place of the index on run_id.
        """
        DROP INDEX step_runs_cache;
        CREATE INDEX step_runs_cache ON step_runs (cache_key, finished_at) WHERE status = 'completed';
        CREATE INDEX step_runs_definition ON step_runs (step_full_name, code_version, finished_at) WHERE status = 'completed';
        DROP INDEX step_runs_run;
        CREATE INDEX step_runs_run ON step_runs (run_id, name, attempt, started_at, status);
        """,
        // 6: a finished run's step counts, as they were when it finished (CountStepsAsync): `strata run show` of a large run
        // then reads one row instead of counting every step run again. Cleared when the run is reopened.
        """
        ALTER TABLE runs ADD COLUMN step_counts TEXT;
        """,
        // 7: a run's step runs in the order they are listed (started_at, name, attempt), with their status: a run's listing and
        // the first few of a large run read the index in order instead of sorting every step run of the run.
        """
        DROP INDEX step_runs_run;
        CREATE INDEX step_runs_run ON step_runs (run_id, started_at, name, attempt, status);
        """,
        // 8: a run's graph in a table of its own. In the run's row it came before the step counts: SQLite reads a row's columns
        // in order, so reading a large run's counts (`strata run show`, `run list`) walked its whole graph first (3 MB at 100,000
        // steps), and every update of the run's status rewrote it.
        """
        CREATE TABLE run_graphs (run_id TEXT PRIMARY KEY REFERENCES runs(id), graph TEXT NOT NULL);
        INSERT INTO run_graphs (run_id, graph) SELECT id, graph FROM runs WHERE graph IS NOT NULL;
        ALTER TABLE runs DROP COLUMN graph;
        """,
    ];

    public static int Latest => All.Count;
}
