namespace Strata;

/// <summary>How to run a pipeline.</summary>
public sealed class RunOptions
{
    /// <summary>Run every step even where a cached result exists. <value>Default: false.</value></summary>
    public bool NoCache { get; set; }

    /// <summary>How many steps run at once. <value>Default: the orchestrator's <c>max_parallelism</c>, else the processor count.</value></summary>
    public int? MaxParallelism { get; set; }

    /// <summary>The stack to run on. <value>Default: the active stack.</value></summary>
    public string? Stack { get; set; }

    /// <summary>The run's name. <value>Default: <c>{pipeline}-{yyyyMMdd-HHmmss}-{4 hex}</c>.</value></summary>
    public string? RunName { get; set; }

    /// <summary>Per-step overrides (step operator, settings, retries, timeout), by invocation name, as a run config file gives them.</summary>
    public Dictionary<string, StepOverride> Steps { get; set; } = [];

    /// <summary>The clock for polling, timeouts and retry delays. <value>Default: the system clock.</value></summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Who watches progress. <value>Default: a <see cref="ConsoleRunReporter"/>; use <see cref="RunObservers.None"/> for silence.</value></summary>
    public IRunObserver? Observer { get; set; }
}

public static class RunObservers
{
    public static IRunObserver None { get; } = new NullObserver();

    private sealed class NullObserver : IRunObserver
    {
        public void RunStarted(RunRecord run, IReadOnlyList<string> steps) { }
        public void StepChanged(StepProgress progress) { }
        public void StepLogLine(string step, string line) { }
        public void RunFinished(RunResult result) { }
        public void Warning(string message) { }
    }
}

/// <summary>How one step invocation of a run ended.</summary>
public sealed record StepResult(string Name, string? StepRunId, ExecutionStatus Status, TimeSpan Duration, string? Error,
    IReadOnlyDictionary<string, ArtifactRecord> Outputs);

/// <summary>The outcome of a run: its record, every step's result, and access to the outputs.</summary>
public sealed class RunResult
{
    private readonly ArtifactStore _artifacts;
    private readonly MaterializerRegistry _materializers;

    internal RunResult(RunRecord run, IReadOnlyList<StepResult> steps, TimeSpan duration, ArtifactStore artifacts, MaterializerRegistry materializers)
    {
        Run = run;
        Steps = steps;
        Duration = duration;
        _artifacts = artifacts;
        _materializers = materializers;
    }

    public RunRecord Run { get; }
    public IReadOnlyList<StepResult> Steps { get; }
    public TimeSpan Duration { get; }

    /// <summary>Whether every step completed or was served from the cache.</summary>
    public bool Succeeded => Run.Status == ExecutionStatus.Completed;

    public StepResult this[string step] => Steps.FirstOrDefault(s => s.Name == step)
        ?? throw new ArgumentException($"The run has no step '{step}'. Steps: {string.Join(", ", Steps.Select(s => s.Name))}.", nameof(step));

    /// <summary>Loads an output of a step from the artifact store.</summary>
    public async Task<T> LoadAsync<T>(string step, string output = "output", CancellationToken cancellationToken = default)
    {
        var result = this[step];
        if (!result.Outputs.TryGetValue(output, out var artifact))
            throw new ArgumentException($"Step '{step}' has no output '{output}' in this run (status {result.Status}). Outputs: " +
                $"{string.Join(", ", result.Outputs.Keys)}.", nameof(output));
        return (T)(await ArtifactIO.LoadAsync(_artifacts, _materializers, artifact, typeof(T), cancellationToken).ConfigureAwait(false))!;
    }
}
