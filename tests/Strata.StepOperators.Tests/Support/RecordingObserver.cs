using System.Collections.Concurrent;

namespace Strata.StepOperatorTests.Support;

/// <summary>Keeps everything a run reports: state changes, live log lines (by step) and warnings.</summary>
public sealed class RecordingObserver : IRunObserver
{
    public ConcurrentQueue<StepProgress> Changes { get; } = new();
    public ConcurrentQueue<(string Step, string Line)> Lines { get; } = new();
    public ConcurrentQueue<string> Warnings { get; } = new();

    public void RunStarted(RunRecord run, IReadOnlyList<string> steps) { }

    public void StepChanged(StepProgress progress) => Changes.Enqueue(progress);

    public void StepLogLine(string step, string line) => Lines.Enqueue((step, line));

    public void RunFinished(RunResult result) { }

    public void Warning(string message) => Warnings.Enqueue(message);

    public IReadOnlyList<string> LinesOf(string step) => Lines.Where(l => l.Step == step).Select(l => l.Line).ToArray();
}
