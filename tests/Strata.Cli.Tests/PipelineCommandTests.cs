using System.Text;
using System.Text.Json;
using Strata.Tests.Support;

namespace Strata.Cli.Tests;

public sealed class PipelineCommandTests : IDisposable
{
    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    private CliResult RunPipeline(params string[] extra) =>
        _cli.Run(["pipeline", "run", .. extra, "--assembly", StrataCli.SamplePipelinesDll]);

    [Fact]
    public void Run_shows_progress_and_summary_records_the_run_and_caches_the_second_time()
    {
        Assert.Empty(_cli.Run("run", "list", "--output", "json").Json.EnumerateArray());

        var first = RunPipeline("arithmetic");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("▶ sum running", first.Out);
        Assert.Contains("✓ report completed", first.Out);
        Assert.Contains("[numbers] making 10 numbers", first.Out);
        Assert.Contains("completed in", first.Out);
        Assert.Contains("4 completed", first.Out);

        var second = RunPipeline("arithmetic");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("4 cached", second.Out);
        Assert.DoesNotContain("making 10 numbers", second.Out);

        var runs = _cli.Run("run", "list", "--output", "json").Json.EnumerateArray().ToArray();
        Assert.Equal(2, runs.Length);
        Assert.All(runs, r => Assert.Equal("completed", r.GetProperty("status").GetString()));
        Assert.All(runs, r => Assert.Equal("arithmetic", r.GetProperty("pipeline").GetString()));

        var show = _cli.Run("run", "show", runs[1].GetProperty("name").GetString()!, "--output", "json").Json;
        var steps = show.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal(["mean", "numbers", "report", "sum"], steps.Keys.Order());
        Assert.Equal(10, steps["numbers"].GetProperty("parameters").GetProperty("count").GetInt32());
        var sumInput = steps["sum"].GetProperty("inputs").EnumerateArray().Single();
        Assert.Equal("numbers", sumInput.GetProperty("name").GetString());
        Assert.Equal(steps["numbers"].GetProperty("outputs")[0].GetProperty("artifact_id").GetString(), sumInput.GetProperty("artifact_id").GetString());

        var cachedShow = _cli.Run("run", "show", runs[0].GetProperty("id").GetString()![..13], "--output", "json").Json;
        Assert.All(cachedShow.GetProperty("steps").EnumerateArray(), s => Assert.Equal("cached", s.GetProperty("status").GetString()));

        var noCache = RunPipeline("arithmetic", "--no-cache");
        Assert.Contains("4 completed", noCache.Out);
    }

    [Fact]
    public void A_failing_step_fails_the_run_skips_dependents_and_lets_other_branches_finish()
    {
        var result = RunPipeline("failing");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("explode failed", result.Out);
        Assert.Contains("InvalidOperationException: explode got 1", result.Out);

        var run = _cli.Run("run", "list", "--output", "json").Json[0];
        Assert.Equal("failed", run.GetProperty("status").GetString());
        var steps = _cli.Run("run", "show", run.GetProperty("name").GetString()!, "--output", "json").Json
            .GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s);
        Assert.Equal("completed", steps["source"].GetProperty("status").GetString());
        Assert.Equal("failed", steps["explode"].GetProperty("status").GetString());
        Assert.Equal("skipped", steps["after"].GetProperty("status").GetString());
        Assert.Equal("completed", steps["independent"].GetProperty("status").GetString());

        var logs = _cli.Run("run", "logs", run.GetProperty("name").GetString()!, "--step", "explode");
        Assert.Equal(0, logs.ExitCode);
        Assert.Contains("about to fail", logs.Out);
        Assert.Contains("InvalidOperationException", logs.Out);
        Assert.DoesNotContain("==>", logs.Out);

        var all = _cli.Run("run", "logs", run.GetProperty("name").GetString()!);
        Assert.Contains("==> explode (failed) <==", all.Out);

        var unknown = _cli.Run("run", "logs", run.GetProperty("name").GetString()!, "--step", "nope");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("has no step 'nope'; steps: ", unknown.Error);
        Assert.Contains("explode", unknown.Error);
    }

    [Fact]
    public void A_miswired_pipeline_is_reported_before_anything_runs()
    {
        var result = RunPipeline("miswired");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("step name 'one' is used by 2 invocations", result.Error);
        Assert.Empty(_cli.Run("run", "list", "--output", "json").Json.EnumerateArray());
    }

    [Fact]
    public void Unknown_pipeline_or_assembly_is_a_user_error()
    {
        var unknown = RunPipeline("nope");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("No pipeline 'nope'", unknown.Error);
        Assert.Contains("Arithmetic.Build", unknown.Error);

        var missing = _cli.Run("pipeline", "run", "arithmetic", "--assembly", _cli.Combine("missing.dll"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("not found", missing.Error);
    }

    [Fact]
    public void Run_list_and_show_JSON_have_the_documented_fields_in_order()
    {
        Assert.Equal(0, RunPipeline("arithmetic", "--run-name", "shape").ExitCode);
        string[] runFields = ["id", "name", "pipeline", "stack", "status", "started_at", "finished_at", "duration_seconds", "error", "step_count"];

        var listed = _cli.Run("run", "list", "--output", "json").Json.EnumerateArray().Single();
        Assert.Equal(runFields, Names(listed));

        var show = _cli.Run("run", "show", "shape", "--output", "json").Json;
        Assert.Equal(["run", "steps"], Names(show));
        Assert.Equal(runFields, Names(show.GetProperty("run")));
        Assert.Equal(4, show.GetProperty("run").GetProperty("step_count").GetInt32());
        var sum = show.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "sum");
        Assert.Equal(["id", "name", "step", "status", "attempt", "started_at", "finished_at", "duration_seconds", "error", "cached_from",
            "code_version", "cache_key", "step_operator", "parameters", "inputs", "outputs"], Names(sum));
        Assert.Equal(JsonValueKind.Null, sum.GetProperty("error").ValueKind);
        Assert.Equal(JsonValueKind.Number, sum.GetProperty("duration_seconds").ValueKind);
        Assert.Equal(["name", "artifact_id", "uri"], Names(sum.GetProperty("inputs")[0]));
        Assert.Equal(["name", "artifact_id", "uri", "type", "size"], Names(sum.GetProperty("outputs")[0]));

        static string[] Names(JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToArray();
    }

    [Fact]
    public void Run_show_of_a_large_run_lists_a_capped_table_with_counts_failed_steps_first_and_a_hint()
    {
        Assert.Equal(1, RunPipeline("wide", "--run-name", "wide").ExitCode);

        var shown = _cli.Run("run", "show", "wide");
        Assert.Equal(0, shown.ExitCode);
        Assert.Contains($"steps {SamplePipelines.Wide.Steps}: {SamplePipelines.Wide.Steps - 1} completed, 1 failed", shown.Out);
        var rows = StepRows(shown.Out);
        Assert.Equal(Commands.RunCommands.StepTableCap, rows.Length);
        Assert.Contains(rows, r => r.Contains("failed", StringComparison.Ordinal) && r.Contains($"{SamplePipelines.Wide.Failing} is not allowed", StringComparison.Ordinal));
        Assert.Contains($"{SamplePipelines.Wide.Steps - Commands.RunCommands.StepTableCap} more steps not listed: `strata run show wide --all`", shown.Out);

        var all = _cli.Run("run", "show", "wide", "--all");
        Assert.Equal(SamplePipelines.Wide.Steps, StepRows(all.Out).Length);
        Assert.DoesNotContain("more steps not listed", all.Out);

        var json = _cli.Run("run", "show", "wide", "--output", "json").Json;
        Assert.Equal(SamplePipelines.Wide.Steps, json.GetProperty("steps").GetArrayLength());

        static string[] StepRows(string table) => table.Split('\n').Where(l => l.TrimStart().StartsWith("square", StringComparison.Ordinal)).ToArray();
    }

    [Fact]
    public void Pipeline_list_names_every_pipeline_of_the_assembly()
    {
        var list = _cli.Run("pipeline", "list", "--assembly", StrataCli.SamplePipelinesDll, "--output", "json").Json;
        var names = list.EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToArray();
        Assert.Equal(["arithmetic", "bulky", "failing", "held", "miswired", "tailed", "wide"], names.Order());
    }

    [Fact]
    public async Task Artifacts_are_listed_and_shown_with_type_hash_size_and_producer()
    {
        Assert.Equal(0, RunPipeline("arithmetic", "--run-name", "first").ExitCode);
        var artifacts = _cli.Run("artifact", "list", "--run", "first", "--output", "json").Json.EnumerateArray().ToArray();
        Assert.Equal(4, artifacts.Length);
        var report = artifacts.Single(a => a.GetProperty("type").GetString()!.StartsWith("System.String", StringComparison.Ordinal));
        Assert.StartsWith("xxh128:", report.GetProperty("content_hash").GetString());
        Assert.True(report.GetProperty("size").GetInt64() > 0);
        var uri = report.GetProperty("uri").GetString()!;
        Assert.StartsWith(Path.Combine(_cli.Home, "artifacts"), uri);
        // A string is one small file, kept as that file alone (packed with the run's other small artifacts).
        Assert.EndsWith(".output~value.txt", uri);
        Assert.StartsWith("sum=", await StoredTextAsync(uri));

        var show = _cli.Run("artifact", "show", report.GetProperty("id").GetString()![^12..], "--output", "json");
        Assert.Equal(JsonValueKind.Object, show.Json.ValueKind);
        Assert.Equal("strata.primitive", show.Json.GetProperty("materializer").GetString());

        var table = _cli.Run("artifact", "show", report.GetProperty("id").GetString()!);
        Assert.Contains("content hash", table.Out);
        Assert.Equal(2, _cli.Run("artifact", "show", "ffffffffffff").ExitCode);
    }

    [Fact]
    public async Task Artifacts_name_their_producer_by_pipeline_run_and_step_and_a_small_value_is_shown_inline_once_its_hash_checks()
    {
        Assert.Equal(0, RunPipeline("arithmetic", "--run-name", "first").ExitCode);
        var artifacts = _cli.Run("artifact", "list", "--run", "first", "--output", "json").Json.EnumerateArray().ToArray();
        var report = artifacts.Single(a => a.GetProperty("type").GetString()!.StartsWith("System.String", StringComparison.Ordinal));
        var producer = report.GetProperty("producer");
        Assert.Equal("arithmetic", producer.GetProperty("pipeline").GetString());
        Assert.Equal("first", producer.GetProperty("run_name").GetString());
        var step = producer.GetProperty("step").GetString()!;
        Assert.Equal(report.GetProperty("producer_step_run_id").GetString(), producer.GetProperty("step_run_id").GetString());
        Assert.Contains($"arithmetic/first/{step}", _cli.Run("artifact", "list", "--run", "first").Out);

        var id = report.GetProperty("id").GetString()!;
        var uri = report.GetProperty("uri").GetString()!;
        var shown = _cli.Run("artifact", "show", id, "--output", "json").Json;
        Assert.Equal(await StoredTextAsync(uri), shown.GetProperty("value").GetString());
        Assert.StartsWith("sum=", shown.GetProperty("value").GetString());
        var table = _cli.Run("artifact", "show", id).Out;
        Assert.Contains($"arithmetic/first/{step} (step run ", table);
        Assert.Contains("sum=", table);

        // A value changed in the store is not shown as if it were the step's output.
        var store = new LocalArtifactStore(Path.Combine(_cli.Home, "artifacts"));
        await store.WriteFileAsync(store.PathOf(uri), Encoding.UTF8.GetBytes("sum=-1"));
        var changed = _cli.Run("artifact", "show", id, "--output", "json").Json.GetProperty("value").GetString()!;
        Assert.StartsWith("(cannot be read:", changed);
        Assert.DoesNotContain("sum=-1", changed);
    }

    /// <summary>The text of a small artifact of the home's local store, read through the store.</summary>
    private async Task<string> StoredTextAsync(string uri)
    {
        var store = new LocalArtifactStore(Path.Combine(_cli.Home, "artifacts"));
        return Encoding.UTF8.GetString(await store.ReadFileAsync(store.PathOf(uri)) ?? throw new FileNotFoundException(uri));
    }
}
