using System.Collections.Concurrent;
using Strata.Tests.Support;

namespace Strata.Tests.Orchestration;

/// <summary>A Strata home of its own in a temp directory, with a client on its SQLite store.</summary>
internal sealed class TestHome : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly bool _ownsDirectory;

    private TestHome(TempDirectory dir, bool ownsDirectory, StrataClient client)
    {
        _dir = dir;
        _ownsDirectory = ownsDirectory;
        Client = client;
    }

    public StrataClient Client { get; }

    public IMetadataStore Store => Client.Store;

    public string Path => _dir.Path;

    public string ArtifactsPath => Client.Home.ArtifactsPath;

    /// <summary>Opens a fresh home, or (with <paramref name="existing"/>) another client on the same home.</summary>
    public static async Task<TestHome> OpenAsync(FlavorRegistry? flavors = null, MaterializerRegistry? materializers = null, TempDirectory? existing = null)
    {
        var dir = existing ?? new TempDirectory("strata-home");
        var client = await StrataClient.OpenAsync(new StrataHome(dir.Path), flavors, materializers);
        return new TestHome(dir, existing is null, client);
    }

    public TempDirectory Directory => _dir;

    public Task<RunResult> RunAsync(Action<PipelineBuilder> pipeline, int? maxParallelism = null, bool noCache = false, string? stack = null,
        IRunObserver? observer = null, string name = "test_pipeline") =>
        Client.RunAsync(PipelineDefinition.Build(pipeline, name, Client.Materializers),
            new RunOptions { Observer = observer ?? RunObservers.None, MaxParallelism = maxParallelism, NoCache = noCache, Stack = stack });

    public async Task<StepRunRecord> StepRunAsync(RunResult result, string step) =>
        (await Store.ListStepRunsAsync(result.Run.Id)).Single(s => s.Name == step);

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        if (_ownsDirectory) _dir.Dispose();
    }
}

/// <summary>
/// Shared state between a test and its step methods, keyed by a test id that the test passes to its steps as a literal,
/// so tests running in parallel never see each other's counts or signals.
/// </summary>
internal static class Probe
{
    private static readonly ConcurrentDictionary<string, int> Counts = new();
    private static readonly ConcurrentDictionary<string, TaskCompletionSource> Signals = new();
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<string>> Events = new();
    private static readonly ConcurrentDictionary<string, int> Values = new();

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static string NewId() => Guid.NewGuid().ToString("n");

    /// <summary>Counts one execution of <paramref name="what"/> for a test.</summary>
    public static int Hit(string id, string what) => Counts.AddOrUpdate($"{id}/{what}", 1, (_, n) => n + 1);

    public static int Count(string id, string what) => Counts.GetValueOrDefault($"{id}/{what}");

    public static TaskCompletionSource Signal(string id, string name) =>
        Signals.GetOrAdd($"{id}/{name}", _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Waits for a signal; throws after <see cref="Timeout"/> so a broken orchestrator fails instead of hanging.</summary>
    public static async Task WaitAsync(string id, string name)
    {
        try
        {
            await Signal(id, name).Task.WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"signal '{name}' never came");
        }
    }

    public static void Record(string id, string evt) => Events.GetOrAdd(id, _ => new()).Enqueue(evt);

    public static IReadOnlyList<string> EventsOf(string id) => Events.TryGetValue(id, out var q) ? q.ToArray() : [];

    public static void Set(string id, string name, int value) => Values[$"{id}/{name}"] = value;

    public static int Get(string id, string name) => Values.GetValueOrDefault($"{id}/{name}");
}
