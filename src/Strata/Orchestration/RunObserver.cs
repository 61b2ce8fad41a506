namespace Strata;

/// <summary>A change of a step's state, for live progress.</summary>
public sealed record StepProgress(string Step, ExecutionStatus Status, TimeSpan? Duration = null, string? Detail = null);

/// <summary>Watches a run as it happens. Called from several threads; implementations must be thread-safe.</summary>
public interface IRunObserver
{
    void RunStarted(RunRecord run, IReadOnlyList<string> steps);
    void StepChanged(StepProgress progress);
    void StepLogLine(string step, string line);
    void RunFinished(RunResult result);

    /// <summary>Something the user should know that does not stop the run (e.g. a resource an operator ignores).</summary>
    void Warning(string message);

    /// <summary>Progress of work the run does before its steps (e.g. building and pushing a job image), one line at a time.</summary>
    void Progress(string message)
    {
    }
}

/// <summary>Shows a run as plain lines: state changes as they happen, step output prefixed by the step name, a summary at the end.</summary>
public sealed class ConsoleRunReporter(TextWriter? output = null, bool showStepOutput = true) : IRunObserver
{
    private readonly Lock _gate = new();
    private TextWriter Out => output ?? ConsoleCapture.RealOut;

    public void RunStarted(RunRecord run, IReadOnlyList<string> steps) =>
        Line($"Run {run.Name} of pipeline '{run.Pipeline}' on stack '{run.Stack}': {steps.Count} step(s)");

    public void StepChanged(StepProgress p)
    {
        var symbol = p.Status switch
        {
            ExecutionStatus.Running => "▶",
            ExecutionStatus.Completed => "✓",
            ExecutionStatus.Cached => "↺",
            ExecutionStatus.Failed => "✗",
            ExecutionStatus.Skipped => "-",
            ExecutionStatus.Cancelled => "■",
            ExecutionStatus.Retrying => "↻",
            ExecutionStatus.Pending => "…",
            _ => "·",
        };
        var duration = p.Duration is { } d ? $" ({Format(d)})" : "";
        var detail = p.Detail is null ? "" : $": {p.Detail}";
        Line($"  {symbol} {p.Step} {p.Status.ToString().ToLowerInvariant()}{duration}{detail}");
    }

    public void Warning(string message) => Line($"warning: {message}");

    public void Progress(string message) => Line($"  {message}");

    public void StepLogLine(string step, string line)
    {
        if (showStepOutput) Line($"    [{step}] {line}");
    }

    public void RunFinished(RunResult result)
    {
        var counts = result.Steps.GroupBy(s => s.Status).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}");
        // A run's duration is its record's, from its start to its last record, as `run list` and `run show` print it; a resumed run
        // also says how long this execution took.
        var run = result.Run.FinishedAt is { } end ? end - result.Run.StartedAt : result.Duration;
        var execution = (run - result.Duration).Duration() > TimeSpan.FromSeconds(1) ? $" (this execution {Format(result.Duration)})" : "";
        Line($"Run {result.Run.Name} {result.Run.Status.ToString().ToLowerInvariant()} in {Format(run)}{execution}: {string.Join(", ", counts)}");
        foreach (var failed in result.Steps.Where(s => s.Status == ExecutionStatus.Failed))
            Line($"  {failed.Name} failed: {failed.Error}");
    }

    public static string Format(TimeSpan d) =>
        d.TotalSeconds < 1 ? $"{d.TotalMilliseconds:0}ms" : d.TotalMinutes < 1 ? $"{d.TotalSeconds:0.0}s" : $"{(int)d.TotalMinutes}m{d.Seconds:00}s";

    private void Line(string text)
    {
        lock (_gate)
        {
            Out.WriteLine(text);
            Out.Flush();
        }
    }
}
