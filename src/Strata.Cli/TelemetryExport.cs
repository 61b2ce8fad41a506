using System.Runtime.CompilerServices;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Strata.Cli;

/// <summary>
/// Exports Strata's traces and metrics over OTLP when <c>STRATA_OTLP_ENDPOINT</c> or OpenTelemetry's own
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> names a collector; the exporter's other <c>OTEL_*</c> settings (protocol, headers) apply.
/// Without either, nothing of OpenTelemetry is loaded.
/// </summary>
internal static class TelemetryExport
{
    public const string EndpointVariable = "STRATA_OTLP_ENDPOINT";
    private const string OtelEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Starts exporting if a collector is named; disposing flushes what is buffered.</summary>
    /// <exception cref="StrataConfigException">The endpoint is not an http(s) URL.</exception>
    public static IDisposable? FromEnvironment()
    {
        var endpoint = Environment.GetEnvironmentVariable(EndpointVariable) is { Length: > 0 } own
            ? own
            : Environment.GetEnvironmentVariable(OtelEndpointVariable);
        if (string.IsNullOrWhiteSpace(endpoint)) return null;
        if (!Uri.TryCreate(endpoint.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new StrataConfigException($"{EndpointVariable} '{endpoint}' is not an http:// or https:// URL of an OTLP collector.");
        // The exporter reads its endpoint (and protocol, headers) from the environment, and adds /v1/traces for http/protobuf itself.
        Environment.SetEnvironmentVariable(OtelEndpointVariable, uri.ToString());
        return Start();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IDisposable Start()
    {
        var resource = ResourceBuilder.CreateDefault().AddService("strata", serviceVersion: typeof(StrataTelemetry).Assembly.GetName().Version?.ToString());
        var traces = Sdk.CreateTracerProviderBuilder().SetResourceBuilder(resource).AddSource(StrataTelemetry.SourceName).AddOtlpExporter().Build();
        var metrics = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddMeter(StrataTelemetry.SourceName).AddOtlpExporter().Build();
        return new Providers(traces, metrics);
    }

    private sealed class Providers(TracerProvider traces, MeterProvider metrics) : IDisposable
    {
        public void Dispose()
        {
            traces.Dispose();
            metrics.Dispose();
        }
    }
}
