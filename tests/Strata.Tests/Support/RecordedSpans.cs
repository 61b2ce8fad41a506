using System.Collections.Concurrent;
using System.Diagnostics;

namespace Strata.Tests.Support;

/// <summary>
/// What an OpenTelemetry exporter listening to Strata's "Strata" source receives while this lives: every span, sampled and
/// recorded, as it ends. The listener is process-wide, so tests running at once see each other's spans: filter by run.
/// </summary>
public sealed class RecordedSpans : IDisposable
{
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ActivityListener _listener;

    public RecordedSpans()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == StrataTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>The spans ended so far, oldest first.</summary>
    public IReadOnlyList<Activity> Ended => _spans.ToArray();

    public void Dispose() => _listener.Dispose();
}
