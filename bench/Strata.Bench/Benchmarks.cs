using System.Globalization;
using System.Text.Json.Nodes;

namespace Strata.Bench;

internal sealed record Benchmark(string Name, string Description, Func<BenchContext, Task<(List<Row> Rows, JsonObject Details)>> Run,
    Func<JsonObject, string>? ExtraText = null)
{
    public string Extra(JsonObject details) => ExtraText?.Invoke(details) ?? "";
}

/// <summary>The benchmarks, in the order `bench/run.sh` runs them.</summary>
internal static class Benchmarks
{
    private const double GiB = 1L << 30;
    private const double MiB = 1L << 20;

    public static IReadOnlyList<Benchmark> All { get; } =
    [
        new("P1", "in-process step overhead: 1000-step chain and fan-out, uncached, vs Dask's threaded scheduler", P1Async),
        new("P2", "separate-process step: one trivial step on the local-process operator vs `dotnet Hello.dll`", P2Async),
        new("P4", "artifact throughput: 1 GiB float[] and double[,] saved and loaded vs raw FileStream", P4Async),
        new("P5", "scale: 100,000-step fan-out/fan-in, its cached rerun, and `strata run show/list` on a store of 102 runs", P5Async),
        new("P6", "cached rerun of the 1000-step chain (the 100,000-step rerun is measured in P5's store)", P6Async),
        new("P7", "job image: build + push of the Quickstart's image (cold, after a code change, unchanged) vs podman build + push", ImageBuild.RunAsync, ImageBuild.Text),
        new("D", "dashboard: the run page of a 10,000-step run and the runs page of 10,000 runs (server, Chromium), P1 with the run's page open",
            DashboardAsync),
        new("breakdown", "where one step's time goes: timed store and artifact store under the P1 and P6 chains", BreakdownAsync, BreakdownText),
        new("micro", "BenchmarkDotNet micro-benchmarks of a step's parts (SQLite, artifact write, planning)", MicroAsync, MicroText),
    ];

    private const int P1Steps = 1000;

    private static async Task<(List<Row>, JsonObject)> P1Async(BenchContext context)
    {
        var reps = context.RepsOr(5);
        var (setupExit, _) = await Exec.RunAsync("bash", [Path.Combine(context.Paths.BenchDir, "setup.sh")], captureOutput: false);
        if (setupExit != 0) throw new InvalidOperationException("bench/setup.sh failed: Dask is not available");

        // Dask and Strata take turns, one repetition each (after a warm-up in the same process), so each pair of
        // measurements sees the same load on the shared machine.
        var shapes = new[] { "chain", "fanout" };
        var strata = shapes.ToDictionary(s => s, _ => new List<JsonObject>());
        var dask = new List<JsonObject>();
        var daskOut = Path.Combine(context.WorkDir("p1"), "dask.json");
        for (var rep = 0; rep < reps; rep++)
        {
            var (daskExit, _) = await Exec.RunAsync(context.Paths.Python,
                [Path.Combine(context.Paths.BenchDir, "dask_baseline.py"), "--steps", $"{P1Steps}", "--reps", "1", "--out", daskOut], captureOutput: true);
            if (daskExit != 0) throw new InvalidOperationException($"dask_baseline.py exited with {daskExit}");
            var d = JsonNode.Parse(await File.ReadAllTextAsync(daskOut))!.AsObject();
            dask.Add(d);
            Console.Error.WriteLine($"    rep {rep + 1}/{reps} Dask {d["dask_version"]}: chain {d["chain"]!["median_s"]!.GetValue<double>():0.000} s, fan-out {d["fanout"]!["median_s"]!.GetValue<double>():0.000} s");
            foreach (var shape in shapes)
                strata[shape].Add(await Child.RunAsync("uncached", ("home", Path.Combine(context.WorkDir("p1"), shape)), ("shape", shape), ("steps", P1Steps), ("reps", 1)));
        }

        var rows = new List<Row>();
        var details = new JsonObject { ["dask"] = new JsonArray(dask.Select(d => (JsonNode)d).ToArray()) };
        foreach (var shape in shapes)
        {
            var label = shape == "chain" ? "chain" : "fan-out";
            var ours = strata[shape].Select(r => r.D("us_per_step")).ToArray();
            var theirs = dask.Select(d => d[shape]!["us_per_task"]!.GetValue<double>()).ToArray();
            rows.Add(Row.Paired("P1", $"{label} of {P1Steps} int→int steps, time per step", ours, "us", theirs, "Dask threaded, per task", 1, "≤ 1× Dask"));
            rows.Add(Row.Info("P1", $"{label}: best of {reps} (least disturbed), per step", strata[shape].Min(r => r.D("us_per_step")), "us",
                theirs.Min(), "Dask best"));
            details[shape] = new JsonArray(strata[shape].Select(r => (JsonNode)r).ToArray());
        }
        return (rows, details);
    }

    private static async Task<(List<Row>, JsonObject)> P2Async(BenchContext context)
    {
        var hello = context.Paths.HelloDll;
        if (!File.Exists(hello))
            throw new InvalidOperationException($"{hello} is missing: build it with `dotnet build bench/Strata.Bench -c Release` (bench/run.sh does)");
        var result = await Child.RunAsync("process-step", ("home", Path.Combine(context.WorkDir("p2"), "home")), ("reps", context.RepsOr(10)), ("hello", hello),
            ("floor", context.Paths.StepFloorDll));
        var steps = result["steps"]!.AsArray().Select(s => s!.AsObject()).ToArray();
        double[] Of(string key) => steps.Select(s => s.D(key)).ToArray();
        var hellos = result["hello_s"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var fresh = result["fresh_steps"]!.AsArray().Select(s => s!.AsObject()).ToArray();
        double[] FreshOf(string key) => fresh.Select(s => s.D(key)).ToArray();
        var handedOff = steps.Count(s => s["standby"]!.GetValue<bool>());
        var rows = new List<Row>
        {
            Row.Paired("P2", "one step on the local-process operator (standby), submit to recorded result", Of("round_trip_s"), "s", hellos, "dotnet Hello.dll", 0.5,
                "≤ 0.5× hello world"),
            Row.Info("P2", "  steps handed to a standby process (the rest started one)", handedOff, "", note: $"{handedOff} of {steps.Length}"),
            Row.Info("P2", "the whole one-step run (plan, record, step, finish)", Stats.Median(Of("run_s")), "s"),
        };
        foreach (var (part, label) in ProcessStep.Parts.Zip(P2PartLabels))
            rows.Add(Row.Info("P2", $"  {label}", Stats.Median(Of(part + "_s")), "s"));
        rows.Add(Row.Paired("P2", "the same step with standby=false (a fresh process per step)", FreshOf("round_trip_s"), "s", hellos, "dotnet Hello.dll",
            1.5, "≤ 1.5× hello world"));
        foreach (var (part, label) in ProcessStep.Parts.Zip(P2PartLabels))
            rows.Add(Row.Info("P2", $"  {label}", Stats.Median(FreshOf(part + "_s")), "s"));
        // What the framework alone costs a fresh process doing a step's least work: the part of the ratio above no step process goes below.
        var floors = result["floor_s"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var floorRatios = floors.Zip(hellos, (f, h) => f / h).ToArray();
        rows.Add(Row.Info("P2", "  floor: the least a step process does, with the framework alone (bench/StepFloor)", Stats.Median(floors), "s",
            Stats.Median(hellos), "dotnet Hello.dll",
            $"median of paired ratios {Stats.Median(floorRatios):0.00}×, range {floorRatios.Min():0.00}–{floorRatios.Max():0.00}×; " +
            "JSON manifest read, input read, output written and renamed, JSON result, log"));
        var chained = result["chained_second_s"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var chainedRatios = chained.Zip(hellos, (c, h) => c / h).ToArray();
        rows.Add(Row.Info("P2", "the second of two chained steps (its standby started as the first began)", Stats.Median(chained), "s",
            Stats.Median(hellos), "dotnet Hello.dll", $"median of paired ratios {Stats.Median(chainedRatios):0.00}×, range {chainedRatios.Min():0.00}–{chainedRatios.Max():0.00}×"));
        return (rows, result);
    }

    private static readonly string[] P2PartLabels =
    [
        "submit: step run created → job started (manifest written, process spawned)",
        "start-up: job started → entrypoint entered (runtime start, app Main)",
        "step: entrypoint entered → step done (store opened, manifest read, step called, output written)",
        "exit: step done → its end seen (result and log written, process exit, status poll)",
        "record: end seen → result recorded (logs drained, result read, step run finished)",
    ];

    private static async Task<(List<Row>, JsonObject)> P4Async(BenchContext context)
    {
        // Nine pairs: a 1 GiB write's time here swings by a tenth from one process to the next, and the median needs several.
        var reps = context.RepsOr(9);
        var work = context.WorkDir("p4");
        var root = Path.Combine(work, "store");
        var rawDir = Path.Combine(work, "raw");
        Directory.CreateDirectory(rawDir);
        var rows = new List<Row>();
        var details = new JsonObject
        {
            ["note"] = $"same disk for store and raw files; page cache warm for loads (both sides); `sync` before each write and each load; " +
                $"each write process times {ArtifactThroughput.WriteAttempts} writes and keeps the best (both sides)",
        };
        foreach (var (kind, label) in new[] { ("float1d", "float[] 1 GiB"), ("double2d", "double[16384,8192] 1 GiB") })
        {
            var m = new Dictionary<string, List<JsonObject>> { ["save"] = [], ["raw-write"] = [], ["load"] = [], ["raw-read"] = [] };
            for (var rep = 0; rep < reps; rep++)
            {
                var path = $"p4/{kind}/rep{rep}";
                var file = Path.Combine(rawDir, $"{kind}-{rep}.bin");
                // Alternate which side goes first, so neither always meets the other's writeback.
                string[] writes = rep % 2 == 0 ? ["save", "raw-write"] : ["raw-write", "save"];
                string[] reads = rep % 2 == 0 ? ["load", "raw-read"] : ["raw-read", "load"];
                foreach (var op in writes.Concat(reads))
                {
                    await Exec.SyncAsync();
                    var result = op switch
                    {
                        "raw-write" or "raw-read" => await Child.RunAsync(op, ("kind", kind), ("file", file)),
                        "load" => await Child.RunAsync(op, ("kind", kind), ("root", root), ("path", path), ("hash", m["save"][^1]["hash"]!.GetValue<string>())),
                        _ => await Child.RunAsync(op, ("kind", kind), ("root", root), ("path", path)),
                    };
                    m[op].Add(result);
                    Console.Error.WriteLine($"    {kind} rep {rep + 1}/{reps} {op,-9}: {result.D("seconds"):0.000} s, {result.D("bytes") / GiB / result.D("seconds"):0.00} GiB/s, peak {result.L("peak_working_set_bytes") / MiB:0} MiB");
                }
                Program.TryDelete(Path.Combine(root, "p4", kind, $"rep{rep}"));
                File.Delete(file);
            }
            double[] Throughputs(string op) => m[op].Select(r => r.D("bytes") / GiB / r.D("seconds")).ToArray();
            double PeakMiB(string op) => m[op].Max(r => r.L("peak_working_set_bytes")) / MiB;
            rows.Add(Row.Paired("P4", $"{label}: save throughput (best of {ArtifactThroughput.WriteAttempts} per process)", Throughputs("save"), "GiB/s", Throughputs("raw-write"), "FileStream write", 0.9, "≥ 0.9× raw", higherIsBetter: true));
            rows.Add(Row.Paired("P4", $"{label}: load throughput", Throughputs("load"), "GiB/s", Throughputs("raw-read"), "FileStream read", 0.9, "≥ 0.9× raw", higherIsBetter: true));
            rows.Add(Row.Absolute("P4", $"{label}: save peak working set", PeakMiB("save"), "MiB", PeakMiB("raw-write"), "FileStream write", 1.5 * 1024, "≤ 1.5× data = 1536 MiB"));
            rows.Add(Row.Absolute("P4", $"{label}: load peak working set", PeakMiB("load"), "MiB", PeakMiB("raw-read"), "FileStream read", 1.5 * 1024, "≤ 1.5× data = 1536 MiB"));
            details[kind] = new JsonObject(m.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)new JsonArray(e.Value.Select(o => (JsonNode)o.DeepClone()).ToArray()))));
        }
        return (rows, details);
    }

    private const int P5Steps = 100_000;
    private const int P5OtherRuns = 100;

    private static async Task<(List<Row>, JsonObject)> P5Async(BenchContext context)
    {
        var reps = context.RepsOr(5);
        var cli = context.Paths.CliDll;
        if (!File.Exists(cli))
            throw new InvalidOperationException($"{cli} is missing: build it with `dotnet build src/Strata.Cli -c Release` (bench/run.sh does)");
        var home = Path.Combine(context.WorkDir("p5"), "home");
        Console.Error.WriteLine($"    {P5Steps}-step fan-out/fan-in, then {P5OtherRuns} other runs");
        var scale = await Child.RunAsync("scale", ("home", home), ("steps", P5Steps), ("others", P5OtherRuns));
        var runName = scale.S("run_name");

        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var env = new Dictionary<string, string> { ["STRATA_HOME"] = home, ["STRATA_STORE_URL"] = "", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" };
        // The commands take turns, so each repetition of each sees the same load; the first round is reported apart (cold).
        var commands = new (string Label, string[] Arguments)[]
        {
            ("dotnet start (noop app)", [typeof(Program).Assembly.Location, "noop"]),
            ("strata --version", [cli, "--version"]),
            ("strata run list --output json", [cli, "run", "list", "--output", "json"]),
            ($"strata run show {runName} --output json", [cli, "run", "show", runName, "--output", "json"]),
            ($"strata run show {runName}", [cli, "run", "show", runName]),
        };
        var times = commands.Select(_ => new List<double>()).ToArray();
        for (var i = 0; i < reps + 1; i++)
            for (var c = 0; c < commands.Length; c++)
                times[c].Add(await Exec.TimeAsync(dotnet, commands[c].Arguments, env));
        for (var c = 0; c < commands.Length; c++)
            Console.Error.WriteLine($"    {commands[c].Label}: first {times[c][0] * 1000:0} ms, median {Stats.Median(times[c][1..]) * 1000:0} ms");
        (double First, double Median) Of(int c) => (times[c][0], Stats.Median(times[c][1..]));
        var (noop, version, list, showJson, show) = (Of(0), Of(1), Of(2), Of(3), Of(4));
        var query = await Child.RunAsync("query", ("home", home), ("run", runName), ("reps", reps));
        Console.Error.WriteLine($"    {P5Steps}-step run killed halfway, then resumed");
        var crash = await Child.RunAsync("crash-resume", ("home", Path.Combine(context.WorkDir("p5"), "crash")));

        var peakMiB = scale.L("peak_after_run_bytes") / MiB;
        var rows = new List<Row>
        {
            Row.Absolute("P5", $"{P5Steps:N0}-step fan-out/fan-in, plan + run", scale.D("total_s"), "s", null, "", 10, "≤ 10 s"),
            Row.Info("P5", $"{P5Steps:N0}-step fan-out/fan-in, time per step", scale.D("us_per_step"), "us"),
            Row.Info("P5", $"{P5Steps:N0}-step fan-out/fan-in, planning (build + validate) alone", scale.D("build_s"), "s"),
            Row.Absolute("P5", $"{P5Steps:N0}-step fan-out/fan-in, peak working set", peakMiB, "MiB", null, "", 2048, "≤ 2 GiB"),
            Row.Info("P5", "  peak working set per step", scale.L("peak_after_run_bytes") / (double)P5Steps / 1024, "KiB"),
            Row.Info("P5", "  metadata store on disk per step (SQLite file and its log)", scale.L("store_bytes") / (double)P5Steps, "bytes"),
            Row.Info("P5", "  artifact store on disk per step", scale.L("artifact_bytes") / (double)P5Steps, "bytes",
                note: "a one-int output is a record in its run directory's pack; the figure counts allocated blocks"),
            Row.Absolute("P6", $"cached rerun of the {P5Steps:N0}-step fan-out/fan-in (in P5's store)", scale.D("cached_s"), "s", scale.D("total_s"),
                "the same pipeline, uncached", 5, "≤ 5 s"),
            Row.Absolute("P5", "`strata run list` (process wall time, 102 runs)", list.Median, "s", noop.Median, "dotnet start, noop app", 0.2, "≤ 200 ms"),
            Row.Absolute("P5", $"`strata run show` of the {P5Steps:N0}-step run (process wall time)", show.Median, "s", noop.Median, "dotnet start, noop app", 0.2,
                "≤ 200 ms"),
            Row.Info("P5", $"`strata run show --output json` of the {P5Steps:N0}-step run (every step)", showJson.Median, "s", noop.Median, "dotnet start, noop app"),
            Row.Info("P5", "`strata --version` (CLI start-up alone)", version.Median, "s", noop.Median, "dotnet start, noop app"),
            Row.Info("P5", "run list: store query in process", query.D("list_median_s"), "s"),
            Row.Info("P5", "run show: store queries in process", query.D("show_median_s"), "s",
                note: string.Join(", ", query["show_parts_median_s"]!.AsObject().Select(p => $"{p.Key} {p.Value!.GetValue<double>() * 1000:0} ms"))),
            Row.Info("P5", "store open in process (client + migrations check)", query.D("open_s"), "s"),
            Row.Info("P5", "a 100,000-step run killed halfway, resumed: time before the first step starts again", crash.D("to_first_step_s"), "s",
                note: $"{crash.L("recorded_at_kill")} step runs recorded when killed"),
        };
        var details = new JsonObject
        {
            ["scale"] = scale, ["query"] = query, ["crash"] = crash,
            ["process_s"] = new JsonObject
            {
                ["noop_first"] = noop.First, ["noop_median"] = noop.Median, ["version_first"] = version.First, ["version_median"] = version.Median,
                ["list_first"] = list.First, ["list_median"] = list.Median, ["show_first"] = show.First, ["show_median"] = show.Median,
                ["show_json_first"] = showJson.First, ["show_json_median"] = showJson.Median,
            },
        };
        return (rows, details);
    }

    private static async Task<(List<Row>, JsonObject)> P6Async(BenchContext context)
    {
        var reps = context.RepsOr(5);
        var result = await Child.RunAsync("cached", ("home", Path.Combine(context.WorkDir("p6"), "home")), ("steps", P1Steps), ("reps", reps));
        var rows = new List<Row>
        {
            Row.Absolute("P6", $"cached rerun of the {P1Steps}-step chain, total", result.D("median_s"), "s", result.D("fill_s"), "same chain, filling the cache", 0.06,
                "≤ 60 ms"),
            Row.Info("P6", "cached rerun, time per step", result.D("us_per_step"), "us"),
            Row.Info("P6", $"cached rerun, best of {reps} (least disturbed), total", result.D("best_s"), "s"),
        };
        return (rows, result);
    }

    private static async Task<(List<Row>, JsonObject)> DashboardAsync(BenchContext context)
    {
        foreach (var built in new[] { context.Paths.CliDll, context.Paths.DashboardBenchDll })
            if (!File.Exists(built)) throw new InvalidOperationException($"{built} is missing: bench/run.sh builds it");
        var work = context.WorkDir("dashboard");
        var output = Path.Combine(work, "dashboard.json");
        var (exit, _) = await Exec.RunAsync("dotnet", [context.Paths.DashboardBenchDll, "--cli", context.Paths.CliDll, "--work", work, "--out", output,
            "--reps", $"{context.RepsOr(15)}"], captureOutput: false);
        if (exit != 0) throw new InvalidOperationException($"the dashboard benchmark exited with {exit}");
        var d = JsonNode.Parse(await File.ReadAllTextAsync(output))!.AsObject();
        double[] Of(JsonNode node, string key) => node[key]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var large = d["large_run"]!;
        var runs = d["many_runs"]!;
        var p1 = d["p1"]!;
        var rows = new List<Row>
        {
            Row.Absolute("D", "run page of a 10,000-step run: server answer (strata dashboard, loopback)", Stats.Median(Of(large, "server_s")), "s", null, "",
                0.3, "≤ 300 ms"),
            Row.Absolute("D", "run page of a 10,000-step run: largest contentful paint in Chromium", Stats.Median(Of(large, "lcp_ms")), "ms",
                Stats.Median(Of(large, "empty_lcp_ms")), "a near-empty dashboard page", 1000, "≤ 1 s",
                note: $"first contentful paint {Stats.Median(Of(large, "fcp_ms")):0} ms; page {large["html_bytes"]!.GetValue<int>() / 1024} KiB"),
            Row.Info("D", "  the same run, one step's page: server answer", Stats.Median(Of(large, "step_server_s")), "s"),
            Row.Absolute("D", "runs page over a store of 10,000 runs: server answer", Stats.Median(Of(runs, "first_s")), "s", null, "", 0.2, "≤ 200 ms"),
            Row.Info("D", "  the same, page 300 (runs 7476–7500)", Stats.Median(Of(runs, "deep_s")), "s"),
            Row.Info("D", "  the same, filtered by pipeline and status, page 2", Stats.Median(Of(runs, "filtered_s")), "s"),
            Row.Paired("D", "P1 chain of 1000 steps with its run page open in Chromium, following it live", Of(p1, "open_s"), "s", Of(p1, "alone_s"),
                "the same chain, the runs page instead", 1.1, "≤ 1.1× (≤ 10% slower)"),
            Row.Info("D", "  the same, its page opened from the runs page as it starts (the page's first drawing inside the run)",
                Stats.Median(Of(p1, "opening_s")), "s", Stats.Median(Of(p1, "alone_s")), "the same chain, the runs page instead",
                note: $"median of paired ratios {Stats.Median(Of(p1, "opening_s").Zip(Of(p1, "alone_s"), (a, b) => a / b).ToArray()):0.00}×"),
        };
        return (rows, d);
    }

    private static async Task<(List<Row>, JsonObject)> BreakdownAsync(BenchContext context)
    {
        var result = await Child.RunAsync("breakdown", ("home", Path.Combine(context.WorkDir("breakdown"), "home")), ("steps", P1Steps));
        return ([], result);
    }

    private static string BreakdownText(JsonObject details)
    {
        var text = new List<string>();
        foreach (var key in new[] { "uncached", "cached", "fanout" })
        {
            if (details[key] is not JsonObject run) continue;
            var steps = run.D("steps");
            var total = run.D("total_s");
            const string how = "records and small outputs are written behind the steps, so the parts overlap: read them per call";
            text.Add($"Breakdown, {run.S("label")}: {total:0.000} s in all, {total / steps * 1e6:0} µs per step (timed stack; {how})");
            // Top-level parts by time, each followed by the parts nested in it.
            var parts = run["parts"]!.AsArray().Select(p => p!.AsObject()).ToList();
            var ordered = parts.Where(p => !p.S("name").Contains(" > ", StringComparison.Ordinal))
                .OrderByDescending(p => p.D("seconds"))
                .SelectMany(top => new[] { top }.Concat(parts
                    .Where(p => p.S("name").StartsWith(top.S("name").Replace(" (all)", "", StringComparison.Ordinal) + " > ", StringComparison.Ordinal))
                    .OrderBy(p => p.S("name"), StringComparer.Ordinal)))
                .ToList();
            text.Add(Format.Table(["part", "calls", "total", "per call", "per step", "share"],
                ordered.Select(p => (IReadOnlyList<string>)
                [
                    p.S("name").Contains(" > ", StringComparison.Ordinal) ? "  " + p.S("name") : p.S("name"),
                    p.L("calls").ToString(CultureInfo.InvariantCulture),
                    $"{p.D("seconds") * 1000:0.0} ms",
                    $"{p.D("seconds") / Math.Max(1, p.L("calls")) * 1e6:0.0} µs",
                    $"{p.D("seconds") / steps * 1e6:0.0} µs",
                    key == "fanout" ? "—" : $"{p.D("seconds") / total * 100:0}%",
                ])));
            text.Add("");
        }
        text.Add("Indented parts are inside the line above them; the unindented lines of a chain add up to its total.");
        return string.Join(Environment.NewLine, text);
    }

    private static async Task<(List<Row>, JsonObject)> MicroAsync(BenchContext context)
    {
        var result = await Child.RunAsync("micro");
        return ([], result);
    }

    private static string MicroText(JsonObject details) =>
        "Micro-benchmarks (BenchmarkDotNet, in process, 3 warm-up and 10 measured iterations; the median resists the shared machine's load best):" + Environment.NewLine +
        Format.Table(["benchmark", "mean", "median", "allocated"],
            details["benchmarks"]!.AsArray().Select(b => b!.AsObject()).Select(b => (IReadOnlyList<string>)
            [
                b.S("name"), $"{b.D("mean_us"):0.0} µs", $"{b.D("median_us"):0.0} µs", $"{b.L("allocated_bytes") / 1024.0:0.0} KiB",
            ]));
}
