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

/// <summary>
/// Shows a run as plain lines: state changes as they happen, step output prefixed by the step name, a summary at the end. A run of
/// more than <see cref="SummaryThreshold"/> steps is summarised instead: one progress line of counts by state (redrawn in place on a
/// terminal, else written at most every <see cref="SummaryInterval"/>), and a line only for the steps that fail or retry.
/// </summary>
public sealed class ConsoleRunReporter(TextWriter? output = null, bool showStepOutput = true) : IRunObserver
{
    private const int FailuresListed = 20;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ExecutionStatus> _states = new(StringComparer.Ordinal);
    private readonly int[] _counts = new int[Enum.GetValues<ExecutionStatus>().Length];
    private int _steps;
    private bool _summarised;
    private long _lastSummary;
    private bool _summaryShown;
    private TextWriter Out => output ?? ConsoleCapture.RealOut;

    /// <summary>How many steps a run may have and still be shown step by step. <value>Default: 100.</value></summary>
    public int SummaryThreshold { get; init; } = 100;

    /// <summary>How often a summarised run's progress line is written when it cannot be redrawn in place. <value>Default: 2 s.</value></summary>
    public TimeSpan SummaryInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Whether the output is a terminal, where the progress line is redrawn in place (10 times a second at most).
    /// <value>Default: when writing to the console and it is not redirected.</value>
    /// </summary>
    public bool? Interactive { get; init; }

    /// <summary>The clock that paces the progress line. <value>Default: the system clock.</value></summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    private bool InPlace => Interactive ?? (output is null && !Console.IsOutputRedirected);

    public void RunStarted(RunRecord run, IReadOnlyList<string> steps)
    {
        lock (_gate)
        {
            _steps = steps.Count;
            _summarised = steps.Count > SummaryThreshold;
            _states.Clear();
            Array.Clear(_counts);
            _lastSummary = 0;
        }
        var how = _summarised ? " (progress is summarised; failing steps are named)" : "";
        Line($"Run {run.Name} of pipeline '{run.Pipeline}' on stack '{run.Stack}': {steps.Count} step(s){how}");
    }

    public void StepChanged(StepProgress p)
    {
        if (_summarised)
        {
            lock (_gate)
            {
                if (_states.TryGetValue(p.Step, out var before)) _counts[(int)before]--;
                _states[p.Step] = p.Status;
                _counts[(int)p.Status]++;
                if (p.Status is not (ExecutionStatus.Failed or ExecutionStatus.Retrying))
                {
                    SummaryIfDue();
                    return;
                }
            }
        }
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
        var failed = result.Steps.Where(s => s.Status == ExecutionStatus.Failed).ToArray();
        foreach (var step in failed.Take(FailuresListed))
            Line($"  {step.Name} failed: {step.Error}");
        if (failed.Length > FailuresListed)
            Line($"  ... and {failed.Length - FailuresListed} more failed steps (`strata run show {result.Run.Name}` lists them first)");
    }

    public static string Format(TimeSpan d) =>
        d.TotalSeconds < 1 ? $"{d.TotalMilliseconds:0}ms" : d.TotalMinutes < 1 ? $"{d.TotalSeconds:0.0}s" : $"{(int)d.TotalMinutes}m{d.Seconds:00}s";

    /// <summary>Writes the progress line of a summarised run when it is due (the caller holds the lock).</summary>
    private void SummaryIfDue()
    {
        var now = TimeProvider.GetTimestamp();
        var every = InPlace ? TimeSpan.FromMilliseconds(100) : SummaryInterval;
        if (_lastSummary != 0 && TimeProvider.GetElapsedTime(_lastSummary, now) < every) return;
        _lastSummary = now;
        var done = Enum.GetValues<ExecutionStatus>().Where(s => s.IsFinished()).Sum(s => _counts[(int)s]);
        var counts = Enum.GetValues<ExecutionStatus>().Where(s => _counts[(int)s] > 0).Select(s => $"{_counts[(int)s]} {s.ToString().ToLowerInvariant()}");
        var text = $"  [{done}/{_steps}] {string.Join(", ", counts)}";
        if (InPlace)
        {
            Out.Write("\r\u001b[K" + text);
            _summaryShown = true;
        }
        else
        {
            Out.WriteLine(text);
        }
        Out.Flush();
    }

    private void Line(string text)
    {
        lock (_gate)
        {
            if (_summaryShown)
            {
                Out.Write("\r\u001b[K"); // the progress line gives way; the next change draws it again below
                _summaryShown = false;
                _lastSummary = 0;
            }
            Out.WriteLine(text);
            Out.Flush();
        }
    }
}
