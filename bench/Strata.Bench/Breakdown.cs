using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using Strata.Artifacts;
using Strata.Stacks;
using Strata.Store;

namespace Strata.Bench;

/// <summary>Wall time and call counts per operation, summed over a run.</summary>
internal sealed class Timings
{
    private readonly ConcurrentDictionary<string, (long Calls, long Ticks)> _entries = new();

    public void Add(string name, long ticks) => _entries.AddOrUpdate(name, (1, ticks), (_, e) => (e.Calls + 1, e.Ticks + ticks));

    public void Clear() => _entries.Clear();

    public IReadOnlyDictionary<string, (long Calls, double Seconds)> Snapshot() =>
        _entries.ToDictionary(e => e.Key, e => (e.Value.Calls, (double)e.Value.Ticks / Stopwatch.Frequency));
}

/// <summary>Times every call of the metadata store, from the call to the completion of its task.</summary>
public class TimedMetadataStore : DispatchProxy
{
    private IMetadataStore _inner = null!;
    private Timings _timings = null!;

    internal static IMetadataStore Wrap(IMetadataStore inner, Timings timings)
    {
        var proxy = Create<IMetadataStore, TimedMetadataStore>();
        var self = (TimedMetadataStore)(object)proxy;
        self._inner = inner;
        self._timings = timings;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        var start = Stopwatch.GetTimestamp();
        object? result;
        try
        {
            result = targetMethod!.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
        if (result is Task task)
        {
            var name = "store." + targetMethod.Name;
            task.ContinueWith(_ => _timings.Add(name, Stopwatch.GetTimestamp() - start), CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        return result;
    }
}

/// <summary>
/// The local artifact store with each operation timed, and inside a write: the materializer's part (creating the file,
/// writing and closing it, with the content hash) apart from the store's part (path checks, temp directory, rename).
/// </summary>
internal sealed class TimedArtifactStore(LocalArtifactStore inner, Timings timings) : ArtifactStore
{
    public override string Root => inner.Root;
    public override string UriOf(string path) => inner.UriOf(path);
    public override string PathOf(string uri) => inner.PathOf(uri);

    public override async Task<ArtifactContent> WriteArtifactAsync(string path, Func<IArtifactWriter, CancellationToken, Task> write, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        long inWrite = 0;
        var content = await inner.WriteArtifactAsync(path, async (writer, ct) =>
        {
            var s = Stopwatch.GetTimestamp();
            await write(new TimedWriter(writer, timings), ct);
            inWrite = Stopwatch.GetTimestamp() - s;
        }, cancellationToken);
        var total = Stopwatch.GetTimestamp() - start;
        timings.Add("artifacts.write (all)", total);
        timings.Add("artifacts.write > materializer (create, write, close, hash)", inWrite);
        timings.Add("artifacts.write > store (path checks, temp dir, rename)", total - inWrite);
        return content;
    }

    public override async Task<IArtifactReader> OpenArtifactAsync(string path, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        var reader = await inner.OpenArtifactAsync(path, cancellationToken);
        timings.Add("artifacts.open", Stopwatch.GetTimestamp() - start);
        return reader;
    }

    public override async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        var exists = await inner.ExistsAsync(path, cancellationToken);
        timings.Add("artifacts.exists", Stopwatch.GetTimestamp() - start);
        return exists;
    }

    /// <summary>How a cached step checks its outputs are still there as written.</summary>
    public override async Task<bool> VerifyAsync(string path, string contentHash, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        var verified = await inner.VerifyAsync(path, contentHash, cancellationToken);
        timings.Add("artifacts.verify", Stopwatch.GetTimestamp() - start);
        return verified;
    }

    public override Task DeleteAsync(string path, CancellationToken cancellationToken = default) => inner.DeleteAsync(path, cancellationToken);
    public override string? SingleFilePathOf(string path, string fileName) => inner.SingleFilePathOf(path, fileName);

    /// <summary>Also how a small one-file output is written behind its step (as that file alone).</summary>
    public override async Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        await inner.WriteFileAsync(path, content, cancellationToken);
        timings.Add("artifacts.write file (temp file, rename; behind the step)", Stopwatch.GetTimestamp() - start);
    }
    public override Task<byte[]?> ReadFileAsync(string path, CancellationToken cancellationToken = default) => inner.ReadFileAsync(path, cancellationToken);

    private sealed class TimedWriter(IArtifactWriter inner, Timings timings) : IArtifactWriter
    {
        public Stream CreateFile(string name)
        {
            var start = Stopwatch.GetTimestamp();
            var stream = inner.CreateFile(name);
            timings.Add("artifacts.write > materializer > create file", Stopwatch.GetTimestamp() - start);
            return stream;
        }
    }
}

/// <summary>The <c>local</c> artifact store, timed: registered as flavor <c>timed_local</c> for the breakdown.</summary>
internal sealed class TimedLocalFlavor(Timings timings) : ArtifactStoreFlavor
{
    public override string Name => "timed_local";
    public override string Description => "The local artifact store with every operation timed (benchmarks only).";
    public override Type ConfigType => typeof(LocalArtifactStoreConfig);

    public override ArtifactStore Create(object config, StrataHome home) => new TimedArtifactStore(new LocalArtifactStore(home.ArtifactsPath), timings);
}

/// <summary>
/// Where the time of one step goes: the P1 chain (uncached) and the P6 chain (cached) run on a stack whose metadata
/// store and artifact store are timed. Step-run records and small outputs are written behind the steps, so the parts
/// overlap each other and the steps: each part's time per call is what to read.
/// </summary>
internal static class Breakdown
{
    public static async Task RunAsync(Dictionary<string, string> args)
    {
        var steps = int.Parse(args["steps"]);
        var home = args["home"];
        var timings = new Timings();
        MetadataStores.RegisterScheme("timed", async (url, ct) => TimedMetadataStore.Wrap(await MetadataStores.OpenUrlAsync(url["timed:".Length..], ct), timings));
        Environment.SetEnvironmentVariable("STRATA_STORE_URL", $"timed:sqlite://{Path.Combine(home, "strata.db")}");
        var flavors = new FlavorRegistry().Add(new TimedLocalFlavor(timings));
        await using var client = await StrataClient.OpenAsync(new StrataHome(home), flavors);
        await client.Stacks.RegisterComponentAsync(ComponentType.ArtifactStore, "timed", "timed_local", new Dictionary<string, string>());
        await client.Stacks.RegisterStackAsync("timed", StackManager.DefaultStack, "timed", setActive: true);

        async Task<JsonObject> Measure(string label, bool noCache, string runName, string shape = "chain")
        {
            timings.Clear();
            var clock = Stopwatch.StartNew();
            var (build, run, result) = await PipelineRuns.TimeRunAsync(client, shape, steps, noCache, runName);
            var total = clock.Elapsed.TotalSeconds;
            var parts = timings.Snapshot();
            var items = new JsonArray();
            foreach (var (name, (calls, seconds)) in parts.OrderByDescending(p => p.Value.Seconds))
                items.Add(new JsonObject { ["name"] = name, ["calls"] = calls, ["seconds"] = seconds });
            items.Add(new JsonObject { ["name"] = "pipeline build (plan + validate)", ["calls"] = 1, ["seconds"] = build });
            Console.Error.WriteLine($"    {label}: {total:0.000} s, {result.Steps.Count(s => s.Status == ExecutionStatus.Cached)} cached");
            return new JsonObject { ["label"] = label, ["shape"] = shape, ["steps"] = steps, ["total_s"] = total, ["build_s"] = build, ["run_s"] = run, ["parts"] = items };
        }

        await Measure("warm-up", noCache: true, "warmup");
        var uncached = await Measure("P1 chain, uncached", noCache: true, "uncached");
        var cached = await Measure("P6 chain, cached", noCache: false, "cached");
        // Two steps at a time: the parts overlap in time, so they are per-call costs under contention, not a split of the total.
        var fanout = await Measure("P1 fan-out, uncached", noCache: true, "fanout", "fanout");
        Child.Finish(args, new JsonObject { ["uncached"] = uncached, ["cached"] = cached, ["fanout"] = fanout });
    }
}
