using System.Diagnostics;
using System.Text.Json.Nodes;
using Strata.Store;

namespace Strata.Bench;

/// <summary>Child tasks that run whole pipelines in this process (P1, P5, P6).</summary>
internal static class PipelineRuns
{
    private static RunOptions Options(bool noCache, string runName) =>
        new() { NoCache = noCache, Observer = RunObservers.None, RunName = runName };

    /// <summary>Builds and runs one pipeline; returns (build seconds, run seconds, result).</summary>
    public static async Task<(double Build, double Run, RunResult Result)> TimeRunAsync(StrataClient client, string shape, int steps, bool noCache, string runName)
    {
        var clock = Stopwatch.StartNew();
        var definition = PipelineDefinition.Build(BenchSteps.Shape(shape, steps), $"bench_{shape}", client.Materializers);
        var build = clock.Elapsed.TotalSeconds;
        var result = await client.RunAsync(definition, Options(noCache, runName));
        var total = clock.Elapsed.TotalSeconds;
        if (!result.Succeeded)
            throw new InvalidOperationException($"run {runName} {result.Run.Status}: {result.Run.Error}");
        if (result.Steps.Count != steps)
            throw new InvalidOperationException($"run {runName} has {result.Steps.Count} steps, expected {steps}");
        return (build, total - build, result);
    }

    private static async Task CheckLastAsync(RunResult result, int expected)
    {
        var last = result.Steps[^1].Name;
        var value = await result.LoadAsync<int>(last);
        if (value != expected) throw new InvalidOperationException($"step {last} returned {value}, expected {expected}");
    }

    /// <summary>
    /// P1: <c>reps</c> uncached runs of a shape (after one warm-up run of the same size), every output materialized
    /// and every step recorded. Reports the median of build + run.
    /// </summary>
    public static async Task UncachedAsync(Dictionary<string, string> args)
    {
        var shape = args["shape"];
        var steps = int.Parse(args["steps"]);
        var reps = int.Parse(args["reps"]);
        await using var client = await StrataClient.OpenAsync(new StrataHome(args["home"]));
        var tag = Guid.NewGuid().ToString("n")[..8]; // several processes may take turns on one home: run names must differ
        var (_, _, warm) = await TimeRunAsync(client, shape, steps, noCache: true, $"{shape}-warmup-{tag}");
        if (shape == "chain") await CheckLastAsync(warm, steps);

        var totals = new List<double>();
        var builds = new List<double>();
        for (var i = 0; i < reps; i++)
        {
            var (build, run, _) = await TimeRunAsync(client, shape, steps, noCache: true, $"{shape}-{i}-{tag}");
            builds.Add(build);
            totals.Add(build + run);
            Console.Error.WriteLine($"    {shape} rep {i + 1}/{reps}: {build + run:0.000} s");
        }
        var median = Stats.Median(totals);
        Child.Finish(args, new JsonObject
        {
            ["shape"] = shape, ["steps"] = steps, ["reps"] = reps,
            ["median_s"] = median, ["best_s"] = totals.Min(), ["times_s"] = Stats.Array(totals),
            ["median_build_s"] = Stats.Median(builds),
            ["us_per_step"] = median / steps * 1e6,
        });
    }

    /// <summary>
    /// P6: one run of the chain with the cache on (it finds nothing and fills it: the baseline), then <c>reps</c>
    /// reruns in which every step must come from the cache.
    /// </summary>
    public static async Task CachedAsync(Dictionary<string, string> args)
    {
        var steps = int.Parse(args["steps"]);
        var reps = int.Parse(args["reps"]);
        await using var client = await StrataClient.OpenAsync(new StrataHome(args["home"]));
        // Warm up the code paths (JIT) on a pipeline of another name, so its cache entries cannot serve the measured runs.
        await TimeRunAsync(client, "chain", 10, noCache: false, "warmup-fill");
        await TimeRunAsync(client, "chain", 10, noCache: false, "warmup-cached");
        var (fillBuild, fillRun, fill) = await TimeRunAsync(client, "chain", steps, noCache: false, "fill");
        if (fill.Steps.Count(s => s.Status == ExecutionStatus.Completed) < steps - 10)
            throw new InvalidOperationException("the filling run was served from the cache");

        var totals = new List<double>();
        for (var i = 0; i < reps; i++)
        {
            var (build, run, result) = await TimeRunAsync(client, "chain", steps, noCache: false, $"cached-{i}");
            if (result.Steps.Any(s => s.Status != ExecutionStatus.Cached))
                throw new InvalidOperationException($"cached rerun {i}: {result.Steps.Count(s => s.Status != ExecutionStatus.Cached)} steps were not cached");
            totals.Add(build + run);
            Console.Error.WriteLine($"    cached rerun {i + 1}/{reps}: {build + run:0.000} s");
        }
        var median = Stats.Median(totals);
        Child.Finish(args, new JsonObject
        {
            ["steps"] = steps, ["reps"] = reps,
            ["fill_s"] = fillBuild + fillRun,
            ["median_s"] = median, ["best_s"] = totals.Min(), ["times_s"] = Stats.Array(totals),
            ["us_per_step"] = median / steps * 1e6,
        });
    }

    /// <summary>
    /// P5: the fan-out/fan-in pipeline planned (built and validated) and run once, cold for this size but after a small
    /// warm-up pipeline in another home; then once more with every step from the cache (P6 at this size); then 100 other
    /// runs (10-step chains) so the store holds 102 runs.
    /// </summary>
    public static async Task ScaleAsync(Dictionary<string, string> args)
    {
        var steps = int.Parse(args["steps"]);
        var others = int.Parse(args["others"]);
        var warmHome = args["home"] + "-warmup";
        await using (var warm = await StrataClient.OpenAsync(new StrataHome(warmHome)))
            await TimeRunAsync(warm, "fanout_fanin", 10, noCache: true, "warmup");
        Directory.Delete(warmHome, recursive: true);

        var clock = Stopwatch.StartNew();
        await using var client = await StrataClient.OpenAsync(new StrataHome(args["home"]));
        var open = clock.Elapsed.TotalSeconds;
        var (build, run, result) = await TimeRunAsync(client, "fanout_fanin", steps, noCache: true, "scale");
        using (var self = Process.GetCurrentProcess())
        {
            self.Refresh();
            var peak = self.PeakWorkingSet64;
            await CheckLastAsync(result, steps);
            // P6 at this size: the same pipeline again, every step from the cache the run above filled.
            var (cachedBuild, cachedRun, cached) = await TimeRunAsync(client, "fanout_fanin", steps, noCache: false, "scale-cached");
            if (cached.Steps.Any(s => s.Status != ExecutionStatus.Cached))
                throw new InvalidOperationException($"cached rerun: {cached.Steps.Count(s => s.Status != ExecutionStatus.Cached)} steps were not cached");
            Console.Error.WriteLine($"    cached rerun: {cachedBuild + cachedRun:0.000} s");
            var home = new StrataHome(args["home"]);
            var storeBytes = new[] { "", "-wal" }.Select(suffix => new FileInfo(home.DatabasePath + suffix))
                .Sum(f => f.Exists ? f.Length : 0);
            var artifactBytes = await Exec.DiskUsageAsync(home.ArtifactsPath);
            for (var i = 0; i < others; i++)
                await TimeRunAsync(client, "chain", 10, noCache: true, $"other-{i:000}");
            Child.Finish(args, new JsonObject
            {
                ["steps"] = steps, ["open_s"] = open, ["build_s"] = build, ["run_s"] = run, ["total_s"] = build + run,
                ["us_per_step"] = (build + run) / steps * 1e6, ["run_name"] = result.Run.Name, ["run_id"] = result.Run.Id,
                ["peak_after_run_bytes"] = peak, ["other_runs"] = others,
                ["cached_s"] = cachedBuild + cachedRun, ["store_bytes"] = storeBytes, ["artifact_bytes"] = artifactBytes,
            });
        }
    }

    /// <summary>P5: the store queries behind <c>strata run list</c> and <c>strata run show</c>, timed in this process.</summary>
    public static async Task QueryAsync(Dictionary<string, string> args)
    {
        var reps = int.Parse(args["reps"]);
        var run = args["run"];
        var clock = Stopwatch.StartNew();
        await using var client = await StrataClient.OpenAsync(new StrataHome(args["home"]));
        var open = clock.Elapsed.TotalSeconds;
        var list = new List<double>();
        var show = new List<double>();
        var rows = 0;
        var parts = new Dictionary<string, List<double>> { ["find_run"] = [], ["list_step_runs"] = [], ["get_step_inputs"] = [], ["get_step_outputs"] = [] };
        for (var i = 0; i < reps + 1; i++)
        {
            clock.Restart();
            var runs = await client.Store.ListRunsAsync(null, 20); // the CLI's default --limit
            list.Add(clock.Elapsed.TotalSeconds);
            if (runs.Count != 20) throw new InvalidOperationException($"run list returned {runs.Count} runs");

            // What `strata run show` reads: the run, its step runs, their inputs and outputs.
            clock.Restart();
            var record = await client.Store.FindRunAsync(run) ?? throw new InvalidOperationException($"no run {run}");
            var findRun = clock.Elapsed.TotalSeconds;
            var stepRuns = await client.Store.ListStepRunsAsync(record.Id);
            var listSteps = clock.Elapsed.TotalSeconds;
            var inputs = (await client.Store.GetStepInputsAsync(record.Id)).ToLookup(l => l.StepRunId);
            var getInputs = clock.Elapsed.TotalSeconds;
            var outputs = (await client.Store.GetStepOutputsAsync(record.Id)).ToLookup(l => l.StepRunId);
            var getOutputs = clock.Elapsed.TotalSeconds;
            show.Add(getOutputs);
            parts["find_run"].Add(findRun);
            parts["list_step_runs"].Add(listSteps - findRun);
            parts["get_step_inputs"].Add(getInputs - listSteps);
            parts["get_step_outputs"].Add(getOutputs - getInputs);
            rows = stepRuns.Count + inputs.Sum(g => g.Count()) + outputs.Sum(g => g.Count());
        }
        Child.Finish(args, new JsonObject
        {
            ["open_s"] = open,
            ["list_first_s"] = list[0], ["list_median_s"] = Stats.Median(list[1..]),
            ["show_first_s"] = show[0], ["show_median_s"] = Stats.Median(show[1..]),
            ["show_rows"] = rows,
            ["show_parts_median_s"] = new JsonObject(parts.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)Stats.Median(p.Value[1..])))),
        });
    }

    /// <summary>P5: runs <see cref="BenchSteps.Scale"/> until it is killed (by <see cref="CrashResumeAsync"/>).</summary>
    public static async Task CrashRunAsync(Dictionary<string, string> args)
    {
        await using var client = await StrataClient.OpenAsync(new StrataHome(args["home"]));
        await client.RunAsync(BenchSteps.Scale, Options(noCache: true, args["run"]));
    }

    /// <summary>
    /// P5: a 100,000-step run killed (SIGKILL) once half its steps are recorded, then resumed in this process: the time from
    /// the resume call to the first step that starts again (the prior run read, its outputs checked, the rest planned).
    /// </summary>
    public static async Task CrashResumeAsync(Dictionary<string, string> args)
    {
        const string run = "crashed";
        var home = new StrataHome(args["home"]);
        var info = new ProcessStartInfo(Child.SelfCommand()) { UseShellExecute = false };
        foreach (var a in Child.SelfArguments().Concat(["child", "crash-run", $"home={home.Path}", $"run={run}"])) info.ArgumentList.Add(a);
        long recorded;
        using (var crashing = Process.Start(info) ?? throw new InvalidOperationException("could not start the run to crash"))
        {
            // The store is created by the child; wait for it, then for half the steps.
            while (!File.Exists(home.DatabasePath)) await Task.Delay(50);
            await using var watcher = await StrataClient.OpenAsync(home);
            while (true)
            {
                if (crashing.HasExited) throw new InvalidOperationException($"the run to crash ended by itself (exit {crashing.ExitCode})");
                recorded = await watcher.Store.FindRunAsync(run) is { } record ? (await watcher.Store.CountStepRunsAsync(record.Id)).Values.Sum() : 0;
                if (recorded >= 50_000) break;
                await Task.Delay(100);
            }
            crashing.Kill(entireProcessTree: true);
            await crashing.WaitForExitAsync();
        }

        await using var client = await StrataClient.OpenAsync(home);
        using var stop = new CancellationTokenSource();
        var observer = new FirstStartObserver(stop);
        var clock = Stopwatch.StartNew();
        try
        {
            await client.ResumeAsync(run, new RunOptions { Observer = observer }, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        if (observer.FirstStart is not { } first) throw new InvalidOperationException("the resumed run started no step");
        Console.Error.WriteLine($"    killed with {recorded} step runs recorded; resumed: first step started after {first.TotalSeconds:0.000} s");
        Child.Finish(args, new JsonObject { ["recorded_at_kill"] = recorded, ["to_first_step_s"] = first.TotalSeconds, ["resume_call_s"] = clock.Elapsed.TotalSeconds });
    }

    /// <summary>Notes when the first step starts (a step kept from before the resume does not start) and stops the run there.</summary>
    private sealed class FirstStartObserver(CancellationTokenSource stop) : IRunObserver
    {
        private readonly long _started = Stopwatch.GetTimestamp();

        public TimeSpan? FirstStart { get; private set; }

        public void StepChanged(StepProgress progress)
        {
            if (progress.Status != ExecutionStatus.Running || FirstStart is not null) return;
            FirstStart = Stopwatch.GetElapsedTime(_started);
            stop.Cancel();
        }

        public void RunStarted(RunRecord run, IReadOnlyList<string> steps) { }
        public void StepLogLine(string step, string line) { }
        public void RunFinished(RunResult result) { }
        public void Warning(string message) { }
    }
}
