using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Strata.Tests.Support;

namespace Strata.Tests.Orchestration;

public static class TelemetrySteps
{
    [Step]
    public static int Source(int x) => x;

    [Step]
    public static int Double(int x) => x * 2;

    [Step]
    public static int Broken(int x) => throw new InvalidOperationException($"bad input {x}");
}

/// <summary>
/// A run is a trace: what an OpenTelemetry exporter listening to the "Strata" source and meter receives. Runs in parallel with other tests
/// share the global listeners, so each test looks only at the spans of its own run and the measurements of its own pipeline.
/// </summary>
public sealed class TelemetryTests : IDisposable
{
    private readonly RecordedSpans _spans = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();
    private readonly MeterListener _meters = new();

    public TelemetryTests()
    {
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == StrataTelemetry.SourceName) listener.EnableMeasurementEvents(instrument);
        };
        _meters.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _meters.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _meters.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags) copy[tag.Key] = tag.Value;
        _measurements.Enqueue((instrument.Name, value, copy));
    }

    public void Dispose()
    {
        _spans.Dispose();
        _meters.Dispose();
    }

    private List<Activity> SpansOf(RunResult result) =>
        _spans.Ended.Where(s => (string?)s.GetTagItem("strata.run.id") == result.Run.Id).ToList();

    private double Sum(string instrument, string pipeline) =>
        _measurements.Where(m => m.Instrument == instrument && (string?)m.Tags.GetValueOrDefault("strata.pipeline") == pipeline).Sum(m => m.Value);

    [Fact]
    public async Task A_run_is_a_trace_with_a_span_per_step_under_the_runs_span_and_a_cache_hit_is_an_event()
    {
        await using var home = await TestHome.OpenAsync();
        var pipeline = $"traced_{Guid.NewGuid():N}"[..20];

        var first = await home.RunAsync(p => p.Step(TelemetrySteps.Double, p.Step(TelemetrySteps.Source, 21)), name: pipeline);
        var second = await home.RunAsync(p => p.Step(TelemetrySteps.Double, p.Step(TelemetrySteps.Source, 21)), name: pipeline);

        Assert.Equal(ExecutionStatus.Completed, first.Run.Status);
        var spans = SpansOf(first);
        var run = Assert.Single(spans, s => s.DisplayName == $"run {pipeline}");
        Assert.Equal(first.Run.Name, run.GetTagItem("strata.run.name"));
        Assert.Equal("completed", run.GetTagItem("strata.status"));
        Assert.NotEqual(ActivityStatusCode.Error, run.Status);
        foreach (var step in new[] { "source", "double" })
        {
            var span = Assert.Single(spans, s => s.DisplayName == $"step {step}");
            Assert.Equal(run.SpanId, span.ParentSpanId);
            Assert.Equal(run.TraceId, span.TraceId);
            Assert.Equal(step, span.GetTagItem("strata.step"));
            Assert.Equal(1, span.GetTagItem("strata.step.attempt"));
            Assert.Equal((await home.StepRunAsync(first, step)).Id, span.GetTagItem("strata.step_run.id"));
        }

        var cached = Assert.Single(SpansOf(second), s => s.DisplayName == "step double");
        var hit = Assert.Single(cached.Events);
        Assert.Equal("cache hit", hit.Name);
        Assert.Equal((await home.StepRunAsync(first, "double")).Id, hit.Tags.Single(t => t.Key == "strata.cached_from").Value);

        Assert.Equal(2, Sum("strata.steps.started", pipeline));
        Assert.Equal(2, Sum("strata.steps.completed", pipeline));
        Assert.Equal(2, Sum("strata.steps.cached", pipeline));
        Assert.Equal(0, Sum("strata.steps.failed", pipeline));
        Assert.Equal(2, _measurements.Count(m => m.Instrument == "strata.step.duration" && (string?)m.Tags["strata.pipeline"] == pipeline));
        Assert.True(Sum("strata.artifacts.written", pipeline) > 0);
    }

    [Fact]
    public async Task A_failed_step_is_an_error_span_with_its_exception_and_fails_the_runs_span()
    {
        await using var home = await TestHome.OpenAsync();
        var pipeline = $"failing_{Guid.NewGuid():N}"[..20];

        var result = await home.RunAsync(p => p.Step(TelemetrySteps.Broken, 3), name: pipeline);

        Assert.Equal(ExecutionStatus.Failed, result.Run.Status);
        var spans = SpansOf(result);
        var step = Assert.Single(spans, s => s.DisplayName == "step broken");
        Assert.Equal(ActivityStatusCode.Error, step.Status);
        Assert.Contains("bad input 3", step.StatusDescription, StringComparison.Ordinal);
        Assert.Contains(step.Events, e => e.Name == "exception");
        Assert.Equal(ActivityStatusCode.Error, Assert.Single(spans, s => s.DisplayName == $"run {pipeline}").Status);
        Assert.Equal(1, Sum("strata.steps.failed", pipeline));
    }
}
