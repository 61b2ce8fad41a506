using System.Collections.Concurrent;
using System.Text.Json;
using Strata.Tests.Support;

namespace Strata.Slurm.Tests;

/// <summary>
/// A Strata home of its own with a stack "hpc": the local orchestrator, a local artifact store registered as shared
/// (the test cluster's node is this machine, so a temp directory is shared), and a slurm step operator "hpc" on the
/// test cluster through the given transport.
/// </summary>
internal sealed class SlurmTestHome : IAsyncDisposable
{
    private readonly TempDirectory _dir;

    private SlurmTestHome(TempDirectory dir, StrataClient client, SlurmCluster cluster)
    {
        _dir = dir;
        Client = client;
        Cluster = cluster;
    }

    public StrataClient Client { get; }
    public SlurmCluster Cluster { get; }
    public string WorkDir => _dir.Combine("work");
    public string ArtifactsDir => _dir.Combine("artifacts");
    public string Combine(params string[] parts) => _dir.Combine(parts);

    /// <summary>The operator's config for a transport: "cli" or "rest" (JWT over TCP, the token given as a secret reference).</summary>
    public static Dictionary<string, string> OperatorConfig(SlurmCluster cluster, string transport, string workDir)
    {
        var config = new Dictionary<string, string> { ["work_dir"] = workDir, ["partition"] = "debug", ["transport"] = transport };
        if (transport == "cli") config["slurm_conf"] = cluster.SlurmConf;
        else
        {
            config["rest_url"] = cluster.RestUrl.ToString();
            config["user_name"] = "root";
            config["token"] = "{{slurm.token}}";
        }
        return config;
    }

    public static async Task<SlurmTestHome> OpenAsync(SlurmCluster cluster, string transport, IReadOnlyDictionary<string, string>? extra = null)
    {
        var dir = new TempDirectory("strata-slurm-op");
        var client = await StrataClient.OpenAsync(new StrataHome(dir.Combine("home")), new FlavorRegistry().AddSlurm());
        var home = new SlurmTestHome(dir, client, cluster);
        if (transport == "rest") await client.Secrets.CreateAsync("slurm", new Dictionary<string, string> { ["token"] = cluster.Jwt });
        await client.Stacks.RegisterComponentAsync(ComponentType.ArtifactStore, "shared", "local",
            new Dictionary<string, string> { ["path"] = home.ArtifactsDir, ["shared"] = "true" });
        var config = OperatorConfig(cluster, transport, home.WorkDir);
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) config[k] = v;
        await client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, SlurmSteps.Operator, "slurm", config);
        await client.Stacks.RegisterStackAsync("hpc", StackManager.DefaultStack, "shared", [SlurmSteps.Operator]);
        return home;
    }

    public Task<RunResult> RunAsync(Action<PipelineBuilder> pipeline, IRunObserver? observer = null,
        Dictionary<string, StepOverride>? steps = null, int? maxParallelism = null, CancellationToken cancellationToken = default, TimeProvider? time = null) =>
        Client.RunAsync(pipeline, new RunOptions
        {
            Stack = "hpc", Observer = observer ?? RunObservers.None, Steps = steps ?? [], NoCache = true, MaxParallelism = maxParallelism,
            TimeProvider = time,
        }, cancellationToken);

    /// <summary>The job handle the run stored for a step.</summary>
    public async Task<StepJob> JobOfAsync(RunResult result, string step)
    {
        var run = (await Client.Store.ListStepRunsAsync(result.Run.Id)).Single(s => s.Name == step);
        Assert.NotNull(run.Job);
        return JsonSerializer.Deserialize<StepJob>(run.Job!, HandleJson)!;
    }

    /// <summary>How the store writes job handles (snake_case on one line).</summary>
    public static JsonSerializerOptions HandleJson { get; } = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public async Task<string> StepLogAsync(RunResult result, string step) =>
        await Client.Store.GetStepLogAsync(result[step].StepRunId!) ?? "";

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>Records what a run reports as it goes: state changes with their detail, and live log lines.</summary>
internal sealed class RecordingObserver : IRunObserver
{
    public ConcurrentQueue<StepProgress> Changes { get; } = new();
    public ConcurrentQueue<(string Step, string Line)> Lines { get; } = new();
    public ConcurrentQueue<string> Warnings { get; } = new();

    /// <summary>Completes when a log line containing <see cref="AwaitedLine"/> arrives.</summary>
    public TaskCompletionSource LineSeen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public string? AwaitedLine { get; init; }

    public void RunStarted(RunRecord run, IReadOnlyList<string> steps) { }
    public void StepChanged(StepProgress progress) => Changes.Enqueue(progress);

    public void StepLogLine(string step, string line)
    {
        Lines.Enqueue((step, line));
        if (AwaitedLine is not null && line.Contains(AwaitedLine, StringComparison.Ordinal)) LineSeen.TrySetResult();
    }

    public void RunFinished(RunResult result) { }
    public void Warning(string message) => Warnings.Enqueue(message);
}
