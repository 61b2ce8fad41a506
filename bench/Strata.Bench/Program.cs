using System.Globalization;
using System.Text.Json.Nodes;

namespace Strata.Bench;

/// <summary>
/// <c>Strata.Bench [NAME...] [--reps N] [--keep]</c>: runs the named benchmarks (default: all), prints the table and
/// merges the figures into bench/results.json. <c>Strata.Bench child TASK key=value...</c> is one measurement in its own
/// process, started by the harness.
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        // P2 runs a step of this app on the local-process step operator: the job starts this app again. Main stays as
        // small as an app's would be, so the step process does not compile the harness.
        if (await StrataEntrypoint.TryRunAsync(args) is { } exitCode)
            return exitCode;
        return await HarnessAsync(args);
    }

    private static async Task<int> HarnessAsync(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        if (args.Length > 0 && args[0] == "child")
            return await ChildMainAsync(args[1], args[2..]);
        if (args.Length > 0 && args[0] == "noop")
            return 0; // the baseline for process start-up: `dotnet` loading a small app and exiting

        int? reps = null;
        var keep = false;
        var names = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--reps": reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--keep": keep = true; break;
                case "--list" or "-l":
                    foreach (var b in Benchmarks.All) Console.WriteLine($"{b.Name,-10} {b.Description}");
                    return 0;
                case "--help" or "-h":
                    Console.WriteLine("usage: bench/run.sh [NAME...] [--reps N] [--keep] [--list]");
                    Console.WriteLine("  NAME: " + string.Join(", ", Benchmarks.All.Select(b => b.Name)) + " (default: all)");
                    return 0;
                default: names.Add(args[i]); break;
            }
        }
        var selected = names.Count == 0 ? Benchmarks.All.ToList() : new List<Benchmark>();
        foreach (var name in names)
        {
            var match = Benchmarks.All.FirstOrDefault(b => string.Equals(b.Name, name, StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                await Console.Error.WriteLineAsync($"Unknown benchmark '{name}'; known: {string.Join(", ", Benchmarks.All.Select(b => b.Name))}.");
                return 2;
            }
            selected.Add(match);
        }

        var paths = new Paths
        {
            Repo = Paths.FindRepo(),
            Work = Environment.GetEnvironmentVariable("STRATA_BENCH_WORK") is { Length: > 0 } w ? w
                : Path.Combine(Path.GetTempPath(), $"strata-bench-{DateTime.UtcNow:yyyyMMdd-HHmmss}"),
        };
        Directory.CreateDirectory(paths.Work);
        var context = new BenchContext(paths, reps);
        var rows = new List<Row>();
        var details = new JsonObject();
        try
        {
            foreach (var benchmark in selected)
            {
                Console.Error.WriteLine($"==> {benchmark.Name}: {benchmark.Description}");
                var started = DateTime.UtcNow;
                try
                {
                    var (benchRows, detail) = await benchmark.Run(context);
                    rows.AddRange(benchRows);
                    details[benchmark.Name] = detail;
                }
                catch (Exception e) when (e is InvalidOperationException or IOException or StrataException or System.ComponentModel.Win32Exception)
                {
                    Console.Error.WriteLine($"    {benchmark.Name} failed: {e.Message}");
                    rows.Add(Row.Error(benchmark.Name, "", e.Message));
                    details[benchmark.Name] = new JsonObject { ["error"] = e.ToString() };
                }
                Console.Error.WriteLine($"    ({(DateTime.UtcNow - started).TotalSeconds:0} s)");
            }
        }
        finally
        {
            if (!keep) TryDelete(paths.Work);
        }

        Console.WriteLine();
        Console.WriteLine(Format.Rows(rows));
        foreach (var benchmark in selected)
            if (details[benchmark.Name] is JsonObject d && benchmark.Extra(d) is { Length: > 0 } extra)
            {
                Console.WriteLine();
                Console.WriteLine(extra);
            }
        Results.Merge(paths.Results, selected.Select(b => b.Name).ToArray(), rows, details);
        Console.WriteLine();
        Console.WriteLine($"Figures written to {Path.GetRelativePath(Environment.CurrentDirectory, paths.Results)}.");
        return rows.Any(r => r.Status == "ERROR") ? 1 : 0;
    }

    private static async Task<int> ChildMainAsync(string task, string[] rest)
    {
        var args = rest.Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
        Func<Dictionary<string, string>, Task> run = task switch
        {
            "uncached" => PipelineRuns.UncachedAsync,
            "cached" => PipelineRuns.CachedAsync,
            "scale" => PipelineRuns.ScaleAsync,
            "query" => PipelineRuns.QueryAsync,
            "crash-run" => PipelineRuns.CrashRunAsync,
            "crash-resume" => PipelineRuns.CrashResumeAsync,
            "save" => ArtifactThroughput.SaveAsync,
            "load" => ArtifactThroughput.LoadAsync,
            "raw-write" => ArtifactThroughput.RawWriteAsync,
            "raw-read" => ArtifactThroughput.RawReadAsync,
            "breakdown" => Breakdown.RunAsync,
            "micro" => Micro.RunAsync,
            "process-step" => ProcessStep.RunAsync,
            _ => throw new ArgumentException($"unknown child task '{task}'"),
        };
        await run(args);
        return 0;
    }

    internal static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
    }
}

internal sealed record BenchContext(Paths Paths, int? Reps)
{
    public int RepsOr(int defaultReps) => Reps ?? defaultReps;

    public string WorkDir(string name)
    {
        var dir = Path.Combine(Paths.Work, name);
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>bench/results.json: the last figures of every benchmark; running some replaces only theirs.</summary>
internal static class Results
{
    public static void Merge(string path, string[] ran, IReadOnlyList<Row> rows, JsonObject details)
    {
        JsonObject root;
        try { root = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))!.AsObject() : new JsonObject(); }
        catch (System.Text.Json.JsonException) { root = new JsonObject(); }
        var benchmarks = root["benchmarks"] as JsonObject ?? new JsonObject();
        root.Remove("benchmarks");
        foreach (var name in ran)
        {
            benchmarks[name] = new JsonObject
            {
                ["measured_at"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                ["rows"] = new JsonArray(rows.Where(r => r.Benchmark == name).Select(r => (JsonNode)new JsonObject
                {
                    ["figure"] = r.Figure, ["strata"] = r.Strata, ["baseline"] = r.Baseline, ["baseline_name"] = r.BaselineName,
                    ["unit"] = r.Unit, ["ratio"] = r.Ratio, ["target"] = r.Target, ["status"] = r.Status, ["note"] = r.Note,
                }).ToArray()),
                ["details"] = details[name]?.DeepClone(),
            };
        }
        root["machine"] = new JsonObject
        {
            ["processors"] = Environment.ProcessorCount,
            ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            ["memory_bytes"] = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
        };
        root["benchmarks"] = new JsonObject(Benchmarks.All.Where(b => benchmarks.ContainsKey(b.Name))
            .Select(b => KeyValuePair.Create(b.Name, benchmarks[b.Name]?.DeepClone())));
        File.WriteAllText(path, root.ToJsonString(Json.Indented) + Environment.NewLine);
    }
}
