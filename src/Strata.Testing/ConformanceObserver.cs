using System.Collections.Concurrent;

namespace Strata.Testing;

/// <summary>What a run reports as it goes: the run, state changes, live log lines (by step) and warnings.</summary>
internal sealed class ConformanceObserver : IRunObserver
{
    private readonly TaskCompletionSource<RunRecord> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<StepProgress> Changes { get; } = new();
    public ConcurrentQueue<(string Step, string Line)> Lines { get; } = new();
    public ConcurrentQueue<string> Warnings { get; } = new();

    public Task<RunRecord> Started => _started.Task;

    public void RunStarted(RunRecord run, IReadOnlyList<string> steps) => _started.TrySetResult(run);

    public void StepChanged(StepProgress progress) => Changes.Enqueue(progress);

    public void StepLogLine(string step, string line) => Lines.Enqueue((step, line));

    public void RunFinished(RunResult result) { }

    public void Warning(string message) => Warnings.Enqueue(message);

    public IReadOnlyList<string> LinesOf(string step) => Lines.Where(l => l.Step == step).Select(l => l.Line).ToArray();
}
