using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Strata;

/// <summary>
/// Strata's traces and metrics, in .NET's own <see cref="ActivitySource"/> and <see cref="Meter"/> named <see cref="SourceName"/>:
/// add that name to your OpenTelemetry tracer and meter providers (<c>.AddSource("Strata")</c>, <c>.AddMeter("Strata")</c>) and a
/// run is a trace: a span for the run, one per step attempt (pipeline, run, step, step operator and job id as attributes; a cache
/// hit as an event; a failure as an error status), and, for a step on a step operator, the step's own span from the job, whose
/// parent travels in the step manifest as a W3C <c>traceparent</c>.
/// </summary>
/// <remarks>
/// Metrics: <c>strata.steps.started</c>, <c>strata.steps.completed</c>, <c>strata.steps.failed</c>, <c>strata.steps.cached</c>
/// (counters, tagged with the pipeline and step), <c>strata.step.duration</c> (seconds), <c>strata.artifacts.written</c> (bytes).
/// The <c>strata</c> command exports both over OTLP when <c>STRATA_OTLP_ENDPOINT</c> or <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </remarks>
public static class StrataTelemetry
{
    /// <summary>The name of Strata's activity source and meter.</summary>
    public const string SourceName = "Strata";

    internal static readonly ActivitySource Source = new(SourceName, typeof(StrataTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// The orchestrator's instruments, in a class of their own: a step process starts a span (<see cref="Source"/>) but records
    /// no metric, and creating the meter and its instruments cost it milliseconds.
    /// </summary>
    internal static class Metrics
    {
        private static readonly Meter Meter = new(SourceName, typeof(StrataTelemetry).Assembly.GetName().Version?.ToString());

        internal static readonly Counter<long> StepsStarted = Meter.CreateCounter<long>("strata.steps.started", "{step}", "Step attempts started");
        internal static readonly Counter<long> StepsCompleted = Meter.CreateCounter<long>("strata.steps.completed", "{step}", "Step attempts that completed");
        internal static readonly Counter<long> StepsFailed = Meter.CreateCounter<long>("strata.steps.failed", "{step}", "Step attempts that failed");
        internal static readonly Counter<long> StepsCached =
            Meter.CreateCounter<long>("strata.steps.cached", "{step}", "Steps whose outputs came from the cache");
        internal static readonly Histogram<double> StepDuration = Meter.CreateHistogram<double>("strata.step.duration", "s", "How long a step attempt took");
        internal static readonly Counter<long> ArtifactBytes = Meter.CreateCounter<long>("strata.artifacts.written", "By", "Bytes of artifacts steps wrote");
    }

    /// <summary>Attribute names, after OpenTelemetry's conventions.</summary>
    internal static class Tags
    {
        public const string Pipeline = "strata.pipeline";
        public const string RunId = "strata.run.id";
        public const string RunName = "strata.run.name";
        public const string Stack = "strata.stack";
        public const string Step = "strata.step";
        public const string StepRunId = "strata.step_run.id";
        public const string Attempt = "strata.step.attempt";
        public const string Operator = "strata.step_operator";
        public const string JobId = "strata.job.id";
        public const string Status = "strata.status";
    }

    /// <summary>Marks an activity failed: an error status with the message, and the exception as an event when there is one.</summary>
    internal static void Fail(Activity? activity, string error, Exception? exception = null)
    {
        if (activity is null) return;
        activity.SetStatus(ActivityStatusCode.Error, error);
        if (exception is not null) activity.AddException(exception);
    }

    /// <summary>The W3C traceparent of the current activity, for a process that continues this trace elsewhere; null when none is recorded.</summary>
    internal static string? CurrentTraceparent() => Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;
}
