using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Strata.Stacks;
using Strata.StepOperators;
using Strata.Store;

namespace Strata.Bench;

/// <summary>
/// The <c>local-process</c> step operator with the moments of a job noted: when submit was called and returned, when
/// its end was first seen. Registered as flavor <c>timed-local-process</c> for P2; the calls themselves pass through.
/// </summary>
internal sealed class TimedLocalProcessFlavor : StepOperatorFlavor
{
    private readonly StepOperatorFlavor _inner = (StepOperatorFlavor)FlavorRegistry.Default.Get(ComponentType.StepOperator, "local-process");

    public override string Name => "timed-local-process";
    public override string Description => "The local-process step operator, its job's moments noted (benchmarks only).";
    public override Type ConfigType => _inner.ConfigType;
    public override Type SettingsType => _inner.SettingsType;

    public JobMoments Last { get; } = new();

    public override StepOperator Create(object config, StepOperatorContext context) => new Timed(_inner.Create(config, context), Last);

    private sealed class Timed(StepOperator inner, JobMoments moments) : StepOperator
    {
        public override async Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default)
        {
            moments.Reset(launch.ManifestUri);
            var job = await inner.SubmitAsync(launch, cancellationToken);
            moments.Submitted = DateTimeOffset.UtcNow;
            moments.Standby = job.Data.ContainsKey("standby");
            return job with { Operator = Name };
        }

        public override async Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default)
        {
            var status = await inner.GetStatusAsync(job, cancellationToken);
            if (status.IsFinished) moments.EndSeen ??= DateTimeOffset.UtcNow;
            return status;
        }

        public override Task CancelAsync(StepJob job, CancellationToken cancellationToken = default) => inner.CancelAsync(job, cancellationToken);
        public override Task CleanupAsync(StepJob job, CancellationToken cancellationToken = default) => inner.CleanupAsync(job, cancellationToken);

        public override Task WaitForChangeAsync(StepJob job, TimeSpan delay, TimeProvider time, CancellationToken cancellationToken = default) =>
            inner.WaitForChangeAsync(job, delay, time, cancellationToken);

        public override async IAsyncEnumerable<string> StreamLogsAsync(StepJob job, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await foreach (var line in inner.StreamLogsAsync(job, cancellationToken))
                yield return line;
        }
    }
}

internal sealed class JobMoments
{
    public string ManifestUri { get; private set; } = "";
    public DateTimeOffset? Submitted { get; set; }
    public DateTimeOffset? EndSeen { get; set; }

    /// <summary>Whether the step was handed to a standby process rather than started in a process of its own.</summary>
    public bool Standby { get; set; }

    public void Reset(string manifestUri)
    {
        ManifestUri = manifestUri;
        Submitted = null;
        EndSeen = null;
        Standby = false;
    }
}

/// <summary>Notes when the step starts (its step run is created, just before submit) and when its result is recorded.</summary>
internal sealed class StepMoments : IRunObserver
{
    private readonly Dictionary<string, (DateTimeOffset? Started, DateTimeOffset? Recorded)> _steps = [];

    /// <summary>When the first step started.</summary>
    public DateTimeOffset? Started { get; private set; }

    /// <summary>When the last step was recorded.</summary>
    public DateTimeOffset? Recorded { get; private set; }

    /// <summary>A step's round trip: from its start to its recorded result.</summary>
    public TimeSpan RoundTrip(string step) => _steps[step] is ({ } started, { } recorded) ? recorded - started : throw new InvalidOperationException($"{step} did not finish");

    public void StepChanged(StepProgress progress)
    {
        var now = DateTimeOffset.UtcNow;
        lock (_steps)
        {
            var moments = _steps.GetValueOrDefault(progress.Step);
            if (progress.Status == ExecutionStatus.Running) moments.Started ??= now;
            if (progress.Status == ExecutionStatus.Completed) moments.Recorded = now;
            _steps[progress.Step] = moments;
        }
        if (progress.Status == ExecutionStatus.Running) Started ??= now;
        if (progress.Status == ExecutionStatus.Completed) Recorded = now;
    }

    public void RunStarted(RunRecord run, IReadOnlyList<string> steps) { }
    public void StepLogLine(string step, string line) { }
    public void RunFinished(RunResult result) { }
    public void Warning(string message) { }
}

/// <summary>
/// P2: one trivial step on the local-process step operator, timed from submit to its recorded result, taking turns
/// with <c>dotnet Hello.dll</c> (a plain hello world), so both see the same load. Each turn first pauses, as a pipeline
/// does between steps that take time, so the operator's standby process is ready; the same step on an operator with
/// standbys off (a fresh process for the step) is timed in each turn too, after its own pause.
/// </summary>
internal static class ProcessStep
{
    public const string Standby = "p2-standby";
    public const string Fresh = "p2-fresh";
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(300);

    [Step(StepOperator = StepOperatorNames.Default)]
    public static int IncElsewhere(int x) => x + 1;

    public static void Pipeline(PipelineBuilder p) => p.Step(IncElsewhere, 41);

    /// <summary>Two such steps, the second taking the first's output: it is submitted as soon as the first is recorded.</summary>
    public static void Chain(PipelineBuilder p) => p.Step(IncElsewhere, p.Step(IncElsewhere, 40));

    /// <summary>The parts of the round trip, in order; they add up to it.</summary>
    public static readonly string[] Parts = ["submit", "start-up", "step", "exit", "record"];

    public static async Task RunAsync(Dictionary<string, string> args)
    {
        var reps = int.Parse(args["reps"]);
        var hello = args["hello"];
        var flavor = new TimedLocalProcessFlavor();
        await using var client = await StrataClient.OpenAsync(new StrataHome(args["home"]), new FlavorRegistry().Add(flavor));
        await client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, Standby, flavor.Name, new Dictionary<string, string>());
        await client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, Fresh, flavor.Name, new Dictionary<string, string> { ["standby"] = "false" });
        await client.Stacks.RegisterStackAsync(Standby, StackManager.DefaultStack, StackManager.DefaultStack, [Standby]);
        await client.Stacks.RegisterStackAsync(Fresh, StackManager.DefaultStack, StackManager.DefaultStack, [Fresh]);
        var store = await client.GetArtifactStoreAsync();

        async Task<JsonObject> StepAsync(string stack, string runName)
        {
            var moments = new StepMoments();
            var clock = Stopwatch.StartNew();
            var result = await client.RunAsync(Pipeline, new RunOptions { NoCache = true, Observer = moments, RunName = runName, Stack = stack });
            var run = clock.Elapsed.TotalSeconds;
            if (!result.Succeeded) throw new InvalidOperationException($"run {runName} {result.Run.Status}: {result.Run.Error}");
            if (await result.LoadAsync<int>(result.Steps[0].Name) != 42) throw new InvalidOperationException("the step returned the wrong value");
            // The entrypoint's own record of when it started and finished the step (same machine, same clock).
            var resultPath = store.PathOf(flavor.Last.ManifestUri)[..^"manifest.json".Length] + "result.json";
            var record = JsonNode.Parse(await store.ReadFileAsync(resultPath) ?? throw new InvalidOperationException("no result record"))!;
            var entered = record["started_at"]!.GetValue<DateTimeOffset>();
            var finished = record["finished_at"]!.GetValue<DateTimeOffset>();
            var times = new[] { moments.Started!.Value, flavor.Last.Submitted!.Value, entered, finished, flavor.Last.EndSeen!.Value, moments.Recorded!.Value };
            var o = new JsonObject { ["round_trip_s"] = (times[^1] - times[0]).TotalSeconds, ["run_s"] = run, ["standby"] = flavor.Last.Standby };
            for (var i = 0; i < Parts.Length; i++) o[Parts[i] + "_s"] = (times[i + 1] - times[i]).TotalSeconds;
            return o;
        }

        Task<double> HelloAsync() => Exec.TimeAsync(Environment.ProcessPath!, [hello]);

        // The floor: the least a step process does with the framework alone, in its own directory (bench/StepFloor).
        var floorDirectory = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(args["home"]))!, "step-floor");
        Directory.CreateDirectory(floorDirectory);
        await File.WriteAllTextAsync(Path.Combine(floorDirectory, "manifest.json"), """{"input": "input"}""");
        await File.WriteAllTextAsync(Path.Combine(floorDirectory, "input"), "41");
        Task<double> FloorAsync() => Exec.TimeAsync(Environment.ProcessPath!, [args["floor"], floorDirectory]);

        // The second of two chained steps: its standby was started only as the first began, a moment before.
        async Task<double> SecondOfChainAsync(string runName)
        {
            var moments = new StepMoments();
            var result = await client.RunAsync(Chain, new RunOptions { NoCache = true, Observer = moments, RunName = runName, Stack = Standby });
            if (!result.Succeeded || await result.LoadAsync<int>(result.Steps[1].Name) != 42)
                throw new InvalidOperationException($"run {runName} {result.Run.Status}: {result.Run.Error}");
            return moments.RoundTrip(result.Steps[1].Name).TotalSeconds;
        }

        // Warm up every side (disk cache, this process's JIT, the first standby), then take turns, each side first every other time.
        await StepAsync(Standby, "warmup");
        await StepAsync(Fresh, "warmup-fresh");
        await HelloAsync();
        await FloorAsync();
        var steps = new JsonArray();
        var fresh = new JsonArray();
        var chained = new List<double>();
        var hellos = new List<double>();
        var floors = new List<double>();
        async Task BaselinesAsync(bool helloFirst)
        {
            if (helloFirst) hellos.Add(await HelloAsync());
            floors.Add(await FloorAsync());
            if (!helloFirst) hellos.Add(await HelloAsync());
        }
        for (var i = 0; i < reps; i++)
        {
            await Task.Delay(Pause);
            if (i % 2 == 1) await BaselinesAsync(helloFirst: true);
            var step = await StepAsync(Standby, $"p2-{i}");
            steps.Add(step);
            if (i % 2 == 0) await BaselinesAsync(helloFirst: false);
            await Task.Delay(Pause);
            var cold = await StepAsync(Fresh, $"p2-fresh-{i}");
            fresh.Add(cold);
            await Task.Delay(Pause);
            var second = await SecondOfChainAsync($"p2-chain-{i}");
            chained.Add(second);
            Console.Error.WriteLine($"    rep {i + 1}/{reps}: step {Describe(step)}, hello {hellos[^1] * 1000:0} ms; fresh process {Describe(cold)}; second of two {second * 1000:0} ms");
        }
        Child.Finish(args, new JsonObject
        {
            ["reps"] = reps, ["steps"] = steps, ["fresh_steps"] = fresh, ["chained_second_s"] = Stats.Array(chained), ["hello_s"] = Stats.Array(hellos),
            ["floor_s"] = Stats.Array(floors),
        });
    }

    private static string Describe(JsonObject step) =>
        $"{step.D("round_trip_s") * 1000:0} ms ({string.Join(", ", Parts.Select(p => $"{p} {step.D(p + "_s") * 1000:0}"))}){(step["standby"]!.GetValue<bool>() ? "" : " without a standby")}";
}
