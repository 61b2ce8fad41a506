using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.Bench;

/// <summary>One line of the results table. <see cref="Status"/>: pass, FAIL, info (no target), LATER (not measurable yet), ERROR.</summary>
internal sealed record Row(
    string Benchmark, string Figure, double? Strata, string Unit, double? Baseline, string BaselineName,
    double? Ratio, string Target, string Status, string? Note = null)
{
    /// <summary>A row whose target is <c>value ≤ limit</c> (or ≥ when <paramref name="higherIsBetter"/>), on the value itself.</summary>
    public static Row Absolute(string benchmark, string figure, double value, string unit, double? baseline, string baselineName,
        double limit, string target, bool higherIsBetter = false, string? note = null) =>
        new(benchmark, figure, value, unit, baseline, baselineName, baseline is > 0 ? value / baseline.Value : null, target,
            Pass(higherIsBetter ? value >= limit : value <= limit), note);

    /// <summary>A row whose target is on the ratio to the baseline.</summary>
    public static Row Relative(string benchmark, string figure, double value, string unit, double baseline, string baselineName,
        double limit, string target, bool higherIsBetter = false, string? note = null)
    {
        var ratio = value / baseline;
        return new(benchmark, figure, value, unit, baseline, baselineName, ratio, target, Pass(higherIsBetter ? ratio >= limit : ratio <= limit), note);
    }

    /// <summary>
    /// A row from paired repetitions (each Strata measurement next to a baseline measurement taken right before or after
    /// it, so both saw the same load): medians of each side, and the median of the per-pair ratios, which decides.
    /// </summary>
    public static Row Paired(string benchmark, string figure, IReadOnlyList<double> values, string unit, IReadOnlyList<double> baselines,
        string baselineName, double limit, string target, bool higherIsBetter = false)
    {
        var ratios = values.Zip(baselines, (v, b) => v / b).ToArray();
        var ratio = Stats.Median(ratios);
        return new(benchmark, figure, Stats.Median(values), unit, Stats.Median(baselines), baselineName, ratio, target,
            Pass(higherIsBetter ? ratio >= limit : ratio <= limit),
            ratios.Length > 1 ? $"median of {ratios.Length} paired ratios, range {ratios.Min():0.00}–{ratios.Max():0.00}×" : null);
    }

    public static Row Info(string benchmark, string figure, double value, string unit, double? baseline = null, string baselineName = "", string? note = null) =>
        new(benchmark, figure, value, unit, baseline, baselineName, baseline is > 0 ? value / baseline.Value : null, "", "info", note);

    public static Row Error(string benchmark, string figure, string message) =>
        new(benchmark, figure, null, "", null, "", null, "", "ERROR", message);

    private static string Pass(bool ok) => ok ? "pass" : "FAIL";
}

internal static class Format
{
    public static string Value(double? value, string unit) => value switch
    {
        null => "—",
        { } v => unit switch
        {
            "s" => v >= 1 ? $"{v:0.00} s" : $"{v * 1000:0.0} ms",
            "ms" => $"{v:0.0} ms",
            "us" => $"{v:0.0} µs",
            "GiB/s" => $"{v:0.00} GiB/s",
            "MiB" => $"{v:0} MiB",
            "x" => $"{v:0.00}×",
            _ => v.ToString("0.###", CultureInfo.InvariantCulture) + (unit.Length > 0 ? " " + unit : ""),
        },
    };

    public static string Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        var lines = new List<string>
        {
            string.Join("  ", headers.Select((h, i) => h.PadRight(widths[i]))).TrimEnd(),
            string.Join("  ", widths.Select(w => new string('-', w))),
        };
        lines.AddRange(all.Select(r => string.Join("  ", r.Select((c, i) => c.PadRight(widths[i]))).TrimEnd()));
        return string.Join(Environment.NewLine, lines);
    }

    public static string Rows(IEnumerable<Row> rows) => Table(
        ["figure", "Strata", "baseline", "ratio", "target", "pass/fail"],
        rows.Select(r => (IReadOnlyList<string>)
        [
            $"{r.Benchmark} {r.Figure}",
            Value(r.Strata, r.Unit),
            r.Baseline is null ? (r.BaselineName.Length > 0 ? r.BaselineName : "—") : $"{Value(r.Baseline, r.Unit)} ({r.BaselineName})",
            r.Ratio is { } q ? $"{q:0.00}×" : "—",
            r.Target.Length > 0 ? r.Target : "—",
            r.Status + (r.Note is null ? "" : $" ({r.Note})"),
        ]));
}

/// <summary>Statistics over repetitions.</summary>
internal static class Stats
{
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public static JsonArray Array(IEnumerable<double> values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());
}

/// <summary>Where things are: the repository, the built CLI, the work directory, the python with Dask.</summary>
internal sealed class Paths
{
    public required string Repo { get; init; }
    public required string Work { get; init; }

    public string BenchDir => Path.Combine(Repo, "bench");
    public string Results => Path.Combine(BenchDir, "results.json");
    public string Python => Environment.GetEnvironmentVariable("STRATA_BENCH_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    public string CliDll =>
        Environment.GetEnvironmentVariable("STRATA_BENCH_CLI") is { Length: > 0 } p ? p
        : Path.Combine(Repo, "src", "Strata.Cli", "bin", "Release", "net10.0", "strata.dll");

    /// <summary>P2's baseline: a plain hello world (bench/Hello), built with the bench.</summary>
    public string HelloDll =>
        Environment.GetEnvironmentVariable("STRATA_BENCH_HELLO") is { Length: > 0 } p ? p
        : Path.Combine(BenchDir, "Hello", "bin", "Release", "net10.0", "Hello.dll");

    /// <summary>P2's floor for a fresh step process: the least a step does, with the framework alone (bench/StepFloor), built with the bench.</summary>
    public string StepFloorDll => Path.Combine(BenchDir, "StepFloor", "bin", "Release", "net10.0", "StepFloor.dll");

    /// <summary>The dashboard's figures (bench/Dashboard), built with the bench.</summary>
    public string DashboardBenchDll => Path.Combine(BenchDir, "Dashboard", "bin", "Release", "net10.0", "DashboardBench.dll");

    public static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Strata.slnx")))
                return dir.FullName;
        throw new InvalidOperationException($"Strata.slnx not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>Runs a measurement in a child process, so each has its own peak working set.</summary>
internal static class Child
{
    /// <summary>Runs <c>Strata.Bench child TASK key=value...</c> and returns the JSON object it wrote.</summary>
    public static async Task<JsonObject> RunAsync(string task, params (string Key, object Value)[] args)
    {
        var output = Path.Combine(Path.GetTempPath(), $"strata-bench-{Guid.NewGuid():n}.json");
        var arguments = new List<string> { "child", task, $"out={output}" };
        arguments.AddRange(args.Select(a => $"{a.Key}={Convert.ToString(a.Value, CultureInfo.InvariantCulture)}"));
        try
        {
            var (exit, _) = await Exec.RunAsync(SelfCommand(), SelfArguments().Concat(arguments), captureOutput: false);
            if (exit != 0) throw new InvalidOperationException($"child '{task}' exited with {exit}");
            return JsonNode.Parse(await File.ReadAllTextAsync(output))!.AsObject();
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>What starts this program again: the apphost, or <c>dotnet Strata.Bench.dll</c>.</summary>
    public static string SelfCommand() => Environment.ProcessPath!;

    public static IEnumerable<string> SelfArguments() =>
        Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet" ? [typeof(Child).Assembly.Location] : [];

    /// <summary>Ends a child measurement: adds the process's peak working set and writes the result where the parent reads it.</summary>
    public static void Finish(Dictionary<string, string> args, JsonObject result)
    {
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        result["peak_working_set_bytes"] = self.PeakWorkingSet64;
        File.WriteAllText(args["out"], result.ToJsonString());
    }
}

internal static class Exec
{
    /// <summary>Runs a process to its end; returns the exit code and (when captured) its standard output.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(string file, IEnumerable<string> arguments, bool captureOutput,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = captureOutput };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) info.Environment[k] = v;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var output = captureOutput ? process.StandardOutput.ReadToEndAsync() : Task.FromResult("");
        await process.WaitForExitAsync();
        return (process.ExitCode, await output);
    }

    /// <summary>Wall time of a whole process, from start to exit, with its output drained (and discarded).</summary>
    public static async Task<double> TimeAsync(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) info.Environment[k] = v;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var elapsed = clock.Elapsed.TotalSeconds;
        await stdout;
        var errors = await stderr;
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {errors.Trim()}");
        return elapsed;
    }

    /// <summary>Flushes dirty pages so the next timed write does not pay for the previous one's writeback.</summary>
    public static Task SyncAsync() => RunAsync("sync", [], captureOutput: false);

    /// <summary>The bytes a directory takes on disk, as `du` counts them (allocated blocks, not file lengths).</summary>
    public static async Task<long> DiskUsageAsync(string directory)
    {
        var (exit, output) = await RunAsync("du", ["-s", "-B1", directory], captureOutput: true);
        if (exit != 0) throw new InvalidOperationException($"du -s {directory} exited with {exit}");
        return long.Parse(output.Split('\t')[0], CultureInfo.InvariantCulture);
    }
}

internal static class Json
{
    public static double D(this JsonObject o, string key) => o[key]!.GetValue<double>();
    public static long L(this JsonObject o, string key) => o[key]!.GetValue<long>();
    public static string S(this JsonObject o, string key) => o[key]!.GetValue<string>();

    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
