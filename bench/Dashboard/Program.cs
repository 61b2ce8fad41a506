using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Strata.Stacks;
using Strata.Store;

namespace Strata.Bench.Dashboard;

/// <summary>
/// <c>DashboardBench --cli strata.dll --work DIR --out FILE [--reps N]</c>: the dashboard's figures, each against the real
/// <c>strata dashboard</c> started in its own process on a home filled for it, and written as JSON for the bench table:
/// <list type="bullet">
/// <item>the run page of a 10,000-step run: the server's answer time, and its largest contentful paint in Chromium;</item>
/// <item>the runs page over a store of 10,000 runs;</item>
/// <item>the 1000-step chain (P1) run alone, with its page open in Chromium (following it live), and while its page opens.</item>
/// </list>
/// </summary>
internal static partial class Program
{
    private const string Chromium = "/usr/bin/chromium";

    private static async Task<int> Main(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        if (args is ["chains", var chainHome]) return await ChainRunner.ServeAsync(chainHome);
        string Arg(string name, string? fallback = null) =>
            args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback ?? throw new ArgumentException($"{name} is required");
        var cli = Arg("--cli");
        var work = Arg("--work");
        var reps = int.Parse(Arg("--reps", "7"), CultureInfo.InvariantCulture);
        Directory.CreateDirectory(work);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium, Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });
        var result = new JsonObject
        {
            ["large_run"] = await LargeRunAsync(cli, Path.Combine(work, "large"), browser, reps),
            ["many_runs"] = await ManyRunsAsync(cli, Path.Combine(work, "runs"), reps),
            ["p1"] = await P1Async(cli, Path.Combine(work, "p1"), browser, reps),
        };
        await File.WriteAllTextAsync(Arg("--out"), result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    // ---- the run page of a 10,000-step run ----

    private static async Task<JsonObject> LargeRunAsync(string cli, string home, IBrowser browser, int reps)
    {
        Log("10,000-step fan-out/fan-in run");
        string runId, stepRunId;
        await using (var client = await OpenAsync(home))
        {
            var run = await client.RunAsync(BenchSteps.FanOutFanIn(10_000), new RunOptions { NoCache = true, Observer = RunObservers.None });
            if (!run.Succeeded) throw new InvalidOperationException($"the 10,000-step run {run.Run.Status}: {run.Run.Error}");
            runId = run.Run.Id;
            stepRunId = run.Steps[run.Steps.Count / 2].StepRunId!;
        }
        await using var dashboard = await DashboardProcess.StartAsync(cli, home);
        var page = new Uri(dashboard.Url, $"/runs/{runId}");
        var server = await TimeGetsAsync(page, reps);
        Log($"  run page, server: median {Stats.Median(server) * 1000:0} ms");
        var step = await TimeGetsAsync(new Uri(dashboard.Url, $"/steps/{stepRunId}"), reps);
        Log($"  one step's page, server: median {Stats.Median(step) * 1000:0} ms");

        // Each load of the run page is paired with one of a near-empty page of the same dashboard (runs of a pipeline there is none
        // of): what Chromium on this machine takes to show any page.
        var empty = new Uri(dashboard.Url, "/runs?pipeline=none");
        var fcp = new List<double>();
        var lcp = new List<double>();
        var emptyLcp = new List<double>();
        for (var i = 0; i <= reps; i++)
        {
            var (first, largest) = await PaintAsync(browser, page);
            var (_, emptyLargest) = await PaintAsync(browser, empty);
            if (i == 0) continue; // a cold first load (Chromium's caches, the server's JIT) is not what a user opening a page sees
            fcp.Add(first);
            lcp.Add(largest);
            emptyLcp.Add(emptyLargest);
        }
        Log($"  run page, Chromium: first contentful paint {Stats.Median(fcp):0} ms, largest contentful paint {Stats.Median(lcp):0} ms; " +
            $"a near-empty page {Stats.Median(emptyLcp):0} ms");
        return new JsonObject
        {
            ["steps"] = 10_000, ["server_s"] = Stats.Array(server), ["step_server_s"] = Stats.Array(step), ["fcp_ms"] = Stats.Array(fcp), ["lcp_ms"] = Stats.Array(lcp),
            ["empty_lcp_ms"] = Stats.Array(emptyLcp),
            ["html_bytes"] = (await new HttpClient().GetStringAsync(page)).Length,
        };
    }

    /// <summary>Loads the page in a fresh browser context; returns its first and largest contentful paint, ms after navigation start.</summary>
    private static async Task<(double First, double Largest)> PaintAsync(IBrowser browser, Uri page)
    {
        var viewport = new ViewportSize { Width = 1280, Height = 860 };
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = viewport });
        var tab = await context.NewPageAsync();
        await tab.GotoAsync(page.ToString(), new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        var paints = await tab.EvaluateAsync<double[]>("""
            async () => {
              const last = type => new Promise(resolve => {
                new PerformanceObserver(list => { const e = list.getEntries(); resolve(e[e.length - 1]); }).observe({ type, buffered: true });
                setTimeout(() => resolve(null), 3000);
              });
              const paint = await last('paint');
              const fcp = performance.getEntriesByName('first-contentful-paint')[0] ?? paint;
              const lcp = await last('largest-contentful-paint');
              const nav = performance.getEntriesByType('navigation')[0];
              return [fcp?.startTime ?? -1, lcp?.startTime ?? -1, nav.responseStart, nav.responseEnd, nav.domInteractive];
            }
            """);
        if (paints[0] < 0 || paints[1] < 0) throw new InvalidOperationException($"Chromium reported no paint for {page}: {paints[0]}, {paints[1]}");
        // STRATA_BENCH_VERBOSE=1: each load's paints and navigation timings (response start, response end, DOM interactive), in ms.
        if (Environment.GetEnvironmentVariable("STRATA_BENCH_VERBOSE") == "1")
            Log($"    {page.PathAndQuery}: {string.Join(" ", paints.Select(p => $"{p:0}"))}");
        return (paints[0], paints[1]);
    }

    // ---- the runs page over 10,000 runs ----

    private static async Task<JsonObject> ManyRunsAsync(string cli, string home, int reps)
    {
        const int Runs = 10_000;
        Log($"a store of {Runs} runs");
        await using (var client = await OpenAsync(home))
        {
            var store = client.Store;
            var t0 = DateTimeOffset.UtcNow.AddDays(-30);
            for (var i = 0; i < Runs; i++)
            {
                var started = t0.AddSeconds(i * 60);
                var failed = i % 17 == 0;
                var run = new RunRecord(Guid.CreateVersion7().ToString(), $"run-{i:D5}", $"pipeline_{i % 10}", StackManager.DefaultStack,
                    ExecutionStatus.Running, started, null, null, 3);
                await store.CreateRunAsync(run);
                foreach (var (step, n) in new[] { ("load", 0), ("train", 1), ("evaluate", 2) })
                {
                    var status = failed && n == 2 ? ExecutionStatus.Failed : ExecutionStatus.Completed;
                    await store.RecordStepRunAsync(new StepRunRecord(Guid.CreateVersion7().ToString(), run.Id, step, $"App.{step}", "v1", null, status,
                        started.AddSeconds(n), started.AddSeconds(n + 1), status == ExecutionStatus.Failed ? "boom" : null, null, "{}"), [], [], []);
                }
                await store.FinishRunAsync(run.Id, failed ? ExecutionStatus.Failed : ExecutionStatus.Completed, started.AddSeconds(3),
                    failed ? "step(s) failed: evaluate" : null);
            }
        }
        await using var dashboard = await DashboardProcess.StartAsync(cli, home);
        var first = await TimeGetsAsync(new Uri(dashboard.Url, "/runs"), reps);
        var deep = await TimeGetsAsync(new Uri(dashboard.Url, "/runs?page=300"), reps);
        var filtered = await TimeGetsAsync(new Uri(dashboard.Url, "/runs?pipeline=pipeline_3&status=failed&page=2"), reps);
        Log($"  runs page: first {Stats.Median(first) * 1000:0} ms, page 300 {Stats.Median(deep) * 1000:0} ms, filtered {Stats.Median(filtered) * 1000:0} ms");
        return new JsonObject { ["runs"] = Runs, ["first_s"] = Stats.Array(first), ["deep_s"] = Stats.Array(deep), ["filtered_s"] = Stats.Array(filtered) };
    }

    // ---- P1 with the run's page open ----

    private enum Watch { Alone, Open, Opening }

    /// <summary>
    /// The P1 chain, held at its first step until the page is where it should be, then timed from its release to its end: alone (the
    /// runs page loaded instead), open (its page loaded and following it live before the release), and opening (its page opened from the
    /// runs page as the release happens: the page's first drawing falls inside the run).
    /// </summary>
    private static async Task<JsonObject> P1Async(string cli, string home, IBrowser browser, int reps)
    {
        const int Steps = 1000;
        Log($"P1: the {Steps}-step chain alone, with its page open, and while its page opens, in Chromium");
        await (await OpenAsync(home)).DisposeAsync(); // the store and its default stack exist before the dashboard opens it
        await using var dashboard = await DashboardProcess.StartAsync(cli, home);
        // The pipeline runs in a process of its own, as a user's does: this one drives the browser, whose events would otherwise
        // compete with the steps in one process.
        await using var chains = await ChainRunner.StartAsync(home);
        await using var context = await browser.NewContextAsync();
        var tab = await context.NewPageAsync();
        // As a user would: the dashboard is open on its runs page, and the run's page is opened from there.
        var runsPage = new Uri(dashboard.Url, "/runs").ToString();
        await tab.GotoAsync(runsPage);

        async Task<double> RunAsync(Watch watch, string name)
        {
            var page = new Uri(dashboard.Url, $"/runs/{await chains.BeginAsync(name)}").ToString();
            // Both sides load a page here: the run's own (open), or the runs page again (alone, opening). A page Chromium has just
            // loaded keeps it busy for a while whatever the page; the difference is what the run's page and its live stream cost.
            await tab.GotoAsync(watch == Watch.Open ? page : runsPage);
            // The held step has started, the page has settled (its live stream connected, the browser done with the load: two seconds),
            // and the release falls anywhere in the page's one-second live cycle, as a run's start does for a user watching it.
            await Task.Delay(TimeSpan.FromMilliseconds(2000 + Random.Shared.Next(1000)));
            var finished = chains.ReleaseAsync();
            var opening = watch == Watch.Opening ? tab.GotoAsync(page) : Task.CompletedTask;
            var seconds = await finished;
            await opening;
            if (watch != Watch.Alone) await tab.GotoAsync(runsPage);
            return seconds;
        }

        foreach (var watch in Enum.GetValues<Watch>()) await RunAsync(watch, $"warmup-{watch}");
        var times = Enum.GetValues<Watch>().ToDictionary(w => w, _ => new List<double>());
        for (var i = 0; i < reps; i++)
        {
            // Take turns, in a rotating order, so each side sees the same load on the shared machine.
            var order = Enum.GetValues<Watch>().ToArray();
            foreach (var watch in order.Skip(i % order.Length).Concat(order.Take(i % order.Length)))
                times[watch].Add(await RunAsync(watch, $"{watch}-{i}".ToLowerInvariant()));
            Log($"  rep {i + 1}/{reps}: alone {times[Watch.Alone][^1]:0.000} s, page open {times[Watch.Open][^1]:0.000} s, " +
                $"page opening {times[Watch.Opening][^1]:0.000} s");
        }
        return new JsonObject
        {
            ["steps"] = Steps, ["alone_s"] = Stats.Array(times[Watch.Alone]), ["open_s"] = Stats.Array(times[Watch.Open]),
            ["opening_s"] = Stats.Array(times[Watch.Opening]),
        };
    }

    /// <summary>
    /// <c>DashboardBench chains HOME</c>: runs the P1 chain, held at its first step, once per <c>run NAME</c> line on stdin: answers
    /// <c>started RUN-ID</c> (<see cref="BeginAsync"/>), waits for <c>go</c> (<see cref="ReleaseAsync"/>), then answers <c>done SECONDS</c>, timed from the release to the run's end.
    /// </summary>
    private sealed class ChainRunner(Process process) : IAsyncDisposable
    {
        private const int Steps = 1000;
        private static TaskCompletionSource _gate = new();

        public static async Task<ChainRunner> StartAsync(string home)
        {
            var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
            {
                UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true,
            };
            foreach (var a in new[] { typeof(ChainRunner).Assembly.Location, "chains", home }) info.ArgumentList.Add(a);
            var runner = new ChainRunner(Process.Start(info) ?? throw new InvalidOperationException("the chain runner did not start"));
            await runner.BeginAsync("warmup-1");
            await runner.ReleaseAsync();
            return runner;
        }

        public async Task<string> BeginAsync(string name)
        {
            await process.StandardInput.WriteLineAsync($"run {name}");
            await process.StandardInput.FlushAsync();
            return await ReplyAsync("started ");
        }

        public async Task<double> ReleaseAsync()
        {
            await process.StandardInput.WriteLineAsync("go");
            await process.StandardInput.FlushAsync();
            return double.Parse(await ReplyAsync("done "), CultureInfo.InvariantCulture);
        }

        private async Task<string> ReplyAsync(string prefix)
        {
            var line = await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the chain runner stopped");
            if (!line.StartsWith(prefix, StringComparison.Ordinal)) throw new InvalidOperationException($"the chain runner said: {line}");
            return line[prefix.Length..];
        }

        public async ValueTask DisposeAsync()
        {
            process.StandardInput.Close();
            await process.WaitForExitAsync();
            process.Dispose();
        }

        public static async Task<int> ServeAsync(string home)
        {
            await using var client = await OpenAsync(home);
            var definition = PipelineDefinition.Build(Build, "bench_chain", client.Materializers);
            while (Console.ReadLine() is { } command)
            {
                var name = command["run ".Length..];
                _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var started = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                var run = client.RunAsync(definition, new RunOptions { NoCache = true, RunName = name, Observer = new Started(started) });
                Console.WriteLine($"started {await started.Task}");
                if (Console.ReadLine() != "go") throw new InvalidOperationException("expected go");
                var clock = Stopwatch.StartNew();
                _gate.SetResult();
                var result = await run;
                var seconds = clock.Elapsed.TotalSeconds;
                if (!result.Succeeded) throw new InvalidOperationException($"run {name} {result.Run.Status}: {result.Run.Error}");
                Console.WriteLine($"done {seconds.ToString("R", CultureInfo.InvariantCulture)}");
            }
            return 0;
        }

        [Step(EnableCache = false)]
        public static async Task<int> Hold(int x)
        {
            await _gate.Task;
            return x + 1;
        }

        private static void Build(PipelineBuilder p)
        {
            var x = p.Step(Hold, 0);
            for (var i = 1; i < Steps; i++) x = p.Step(BenchSteps.Inc, x);
        }
    }

    /// <summary>Tells the bench the run's id as soon as the run is recorded.</summary>
    private sealed class Started(TaskCompletionSource<string> id) : IRunObserver
    {
        public void RunStarted(RunRecord run, IReadOnlyList<string> steps) => id.TrySetResult(run.Id);
        public void StepChanged(StepProgress progress) { }
        public void StepLogLine(string step, string line) { }
        public void RunFinished(RunResult result) { }
        public void Warning(string message) { }
    }

    // ---- plumbing ----

    private static async Task<StrataClient> OpenAsync(string home)
    {
        Directory.CreateDirectory(home);
        var client = await StrataClient.OpenAsync(new StrataHome(home));
        await client.Stacks.EnsureDefaultStackAsync();
        return client;
    }

    /// <summary>One warm-up GET, then <paramref name="reps"/> timed ones: the whole answer read, on loopback.</summary>
    private static async Task<List<double>> TimeGetsAsync(Uri page, int reps)
    {
        using var http = new HttpClient();
        var times = new List<double>();
        for (var i = 0; i <= reps; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await http.GetAsync(page);
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{page}: {(int)response.StatusCode} {body[..Math.Min(300, body.Length)]}");
            if (i > 0) times.Add(clock.Elapsed.TotalSeconds);
        }
        return times;
    }

    private static void Log(string line) => Console.Error.WriteLine("    " + line);

    /// <summary><c>strata dashboard --port 0</c> on a home, in its own process, until disposed.</summary>
    private sealed partial class DashboardProcess(Process process, Uri url) : IAsyncDisposable
    {
        public Uri Url { get; } = url;

        public static async Task<DashboardProcess> StartAsync(string cli, string home)
        {
            var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
            {
                UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            foreach (var a in new[] { cli, "dashboard", "--port", "0" }) info.ArgumentList.Add(a);
            info.Environment["STRATA_HOME"] = home;
            info.Environment["STRATA_STORE_URL"] = "";
            var process = Process.Start(info) ?? throw new InvalidOperationException("strata dashboard did not start");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                if (Address().Match(line) is { Success: true } m) return new DashboardProcess(process, new Uri(m.Value));
            throw new InvalidOperationException($"strata dashboard printed no address: {await process.StandardError.ReadToEndAsync()}");
        }

        public async ValueTask DisposeAsync()
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }

        [GeneratedRegex(@"http://127\.0\.0\.1:[0-9]+/?")]
        private static partial Regex Address();
    }
}

internal static class Stats
{
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static JsonArray Array(IEnumerable<double> values) => new(values.Select(v => (JsonNode)v).ToArray());
}
