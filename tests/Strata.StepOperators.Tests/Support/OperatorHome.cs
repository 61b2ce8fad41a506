using System.Text.Json;
using Strata.Tests.Support;

namespace Strata.StepOperatorTests.Support;

/// <summary>
/// A Strata home of its own in a temp directory, with a client on its store, and a scratch directory for files that
/// a test and its steps (running in other processes) share.
/// </summary>
public sealed class OperatorHome : IAsyncDisposable
{
    private static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly TempDirectory _dir;
    private readonly StrataCli _cli = new();

    private OperatorHome(TempDirectory dir, StrataClient client)
    {
        _dir = dir;
        Client = client;
    }

    public StrataClient Client { get; }

    /// <summary>The Strata home: store, artifacts, step working directories.</summary>
    public string HomePath => Client.Home.Path;

    /// <summary>A path for a file the test and its steps share (counters, pid files).</summary>
    public string Scratch(string name)
    {
        var dir = _dir.Combine("scratch");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }

    public static async Task<OperatorHome> OpenAsync(FlavorRegistry? flavors = null)
    {
        var dir = new TempDirectory("strata-ops");
        var client = await StrataClient.OpenAsync(new StrataHome(dir.Combine("home")), flavors);
        return new OperatorHome(dir, client);
    }

    public Task<RunResult> RunAsync(Action<PipelineBuilder> pipeline, RecordingObserver? observer = null, string? stack = null,
        Dictionary<string, StepOverride>? steps = null, TimeProvider? time = null, CancellationToken cancellationToken = default) =>
        Client.RunAsync(pipeline, new RunOptions
        {
            Observer = observer ?? new RecordingObserver(),
            Stack = stack,
            Steps = steps ?? [],
            TimeProvider = time,
        }, cancellationToken);

    /// <summary>Every step run recorded for a step of a run, by attempt.</summary>
    public async Task<IReadOnlyList<StepRunRecord>> StepRunsAsync(string runId, string step) =>
        (await Client.Store.ListStepRunsAsync(runId)).Where(s => s.Name == step).OrderBy(s => s.Attempt).ToArray();

    public async Task<StepRunRecord> StepRunAsync(RunResult result, string step) => (await StepRunsAsync(result.Run.Id, step)).Single();

    /// <summary>The job handle stored with a step run.</summary>
    public static StepJob Job(StepRunRecord stepRun) =>
        JsonSerializer.Deserialize<StepJob>(stepRun.Job ?? throw new InvalidOperationException($"step run {stepRun.Id} has no job"), SnakeCase)!;

    /// <summary>Loads an artifact through its materializer, as a later step would.</summary>
    public async Task<T> LoadAsync<T>(ArtifactRecord artifact, string? stack = null)
    {
        var store = await Client.GetArtifactStoreAsync(stack);
        await using var reader = await store.OpenArtifactAsync(store.PathOf(artifact.Uri));
        return (T)await Client.Materializers.GetByName(artifact.Materializer).LoadAsync(typeof(T), reader, CancellationToken.None);
    }

    /// <summary>Registers a local-process step operator and a stack with the default orchestrator and artifact store and the given operators.</summary>
    public async Task<string> StackWithAsync(string stack, params (string Name, Dictionary<string, string> Config)[] operators)
    {
        foreach (var (name, config) in operators)
            await Client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, name, "local-process", config);
        await Client.Stacks.RegisterStackAsync(stack, StackManager.DefaultStack, StackManager.DefaultStack, operators.Select(o => o.Name).ToArray());
        return stack;
    }

    /// <summary>Runs the real `strata` command on this home.</summary>
    public CliResult Cli(params string[] args) => CliWith([], args);

    /// <summary>Runs the real `strata` command on this home with more environment variables.</summary>
    public CliResult CliWith(Dictionary<string, string?> environment, params string[] args) =>
        _cli.RunIn(_cli.WorkingDirectory, new Dictionary<string, string?>(environment) { ["STRATA_HOME"] = HomePath }, args);

    public async ValueTask DisposeAsync()
    {
        _cli.Dispose();
        await Client.DisposeAsync();
        _dir.Dispose();
    }
}
