using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Strata.StepOperatorTests.Support;
using Strata.Tests.Support;

namespace Strata.StepOperatorTests;

/// <summary>
/// A step on a step operator continues the run's trace: its job process (here the <c>strata</c> command, run by the local-process
/// operator) exports its own span over OTLP to a collector, parented under the orchestrator's span of that attempt through the
/// manifest's traceparent. The collector is a loopback HTTP server reading OTLP/HTTP protobuf as a real one does.
/// </summary>
public sealed class TraceTests : IDisposable
{
    private readonly RecordedSpans _spans = new();

    public void Dispose() => _spans.Dispose();

    [Fact]
    public async Task A_jobs_span_exported_from_its_process_is_a_child_of_the_orchestrators_span_of_that_attempt()
    {
        using var collector = new OtlpCollector();
        await using var home = await OperatorHome.OpenAsync();
        var stack = await home.StackWithAsync("traced", ("local", new()
        {
            ["environment"] = $"STRATA_OTLP_ENDPOINT={collector.Endpoint},OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf,OTEL_BSP_SCHEDULE_DELAY=100",
        }));

        var result = await home.RunAsync(ArtifactFlowSteps.Build, stack: stack);

        Assert.Equal(ExecutionStatus.Completed, result.Run.Status);
        var step = Assert.Single(_spans.Ended, s => s.DisplayName == "step summarize" && (string?)s.GetTagItem("strata.run.id") == result.Run.Id);
        Assert.Equal((await home.StepRunAsync(result, "summarize")).Id, step.GetTagItem("strata.step_run.id"));
        Assert.Equal("local", step.GetTagItem("strata.step_operator"));
        Assert.NotNull(step.GetTagItem("strata.job.id"));

        var job = await collector.WaitForSpanAsync("step summarize (job)", TimeSpan.FromSeconds(30));
        Assert.Equal(step.TraceId.ToHexString(), job.TraceId);
        Assert.Equal(step.SpanId.ToHexString(), job.ParentSpanId);
    }

    [Fact]
    public async Task A_collector_address_that_is_not_a_url_is_a_one_line_error()
    {
        await using var home = await OperatorHome.OpenAsync();

        var result = home.CliWith(new() { ["STRATA_OTLP_ENDPOINT"] = "collector:4318" }, "stack", "list");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: STRATA_OTLP_ENDPOINT 'collector:4318' is not an http:// or https:// URL of an OTLP collector.", result.Error.Trim());
    }

    /// <summary>An OTLP/HTTP trace receiver: the spans of every ExportTraceServiceRequest posted to /v1/traces.</summary>
    private sealed class OtlpCollector : IDisposable
    {
        private readonly HttpListener _http = new();
        private readonly ConcurrentQueue<OtlpSpan> _spans = new();
        private readonly Task _serving;

        public OtlpCollector()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Endpoint = $"http://127.0.0.1:{port}";
            _http.Prefixes.Add($"{Endpoint}/");
            _http.Start();
            _serving = Task.Run(ServeAsync);
        }

        public string Endpoint { get; }

        public async Task<OtlpSpan> WaitForSpanAsync(string name, TimeSpan patience)
        {
            var deadline = DateTime.UtcNow + patience;
            while (DateTime.UtcNow < deadline)
            {
                if (_spans.FirstOrDefault(s => s.Name == name) is { } span) return span;
                await Task.Delay(100);
            }
            throw new TimeoutException($"no span '{name}' reached the collector; it got: {string.Join(", ", _spans.Select(s => s.Name))}");
        }

        private async Task ServeAsync()
        {
            while (_http.IsListening)
            {
                HttpListenerContext context;
                try { context = await _http.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                if (context.Request.Url!.AbsolutePath == "/v1/traces")
                    foreach (var span in OtlpSpan.Read(body.ToArray())) _spans.Enqueue(span);
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _http.Stop();
            _http.Close();
            _serving.Wait(TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>A span of an OTLP ExportTraceServiceRequest, read from its protobuf encoding with the field numbers of opentelemetry-proto.</summary>
    private sealed record OtlpSpan(string Name, string TraceId, string ParentSpanId)
    {
        // ExportTraceServiceRequest.resource_spans = 1; ResourceSpans.scope_spans = 2; ScopeSpans.spans = 2;
        // Span.trace_id = 1, parent_span_id = 4, name = 5.
        public static IEnumerable<OtlpSpan> Read(byte[] request) =>
            from resourceSpans in Fields(request, 1)
            from scopeSpans in Fields(resourceSpans, 2)
            from span in Fields(scopeSpans, 2)
            select new OtlpSpan(
                System.Text.Encoding.UTF8.GetString(Fields(span, 5).FirstOrDefault() ?? []),
                Convert.ToHexStringLower(Fields(span, 1).FirstOrDefault() ?? []),
                Convert.ToHexStringLower(Fields(span, 4).FirstOrDefault() ?? []));

        /// <summary>The length-delimited fields numbered <paramref name="number"/> of a message; other fields are skipped by their wire type.</summary>
        private static IEnumerable<byte[]> Fields(byte[] message, int number)
        {
            var found = new List<byte[]>();
            var i = 0;
            while (i < message.Length)
            {
                var key = Varint(message, ref i);
                var (field, wire) = ((int)(key >> 3), (int)(key & 7));
                switch (wire)
                {
                    case 0: Varint(message, ref i); break;
                    case 1: i += 8; break;
                    case 5: i += 4; break;
                    case 2:
                        var length = (int)Varint(message, ref i);
                        if (field == number) found.Add(message[i..(i + length)]);
                        i += length;
                        break;
                    default: throw new InvalidDataException($"wire type {wire} in an OTLP message");
                }
            }
            return found;
        }

        private static ulong Varint(byte[] data, ref int i)
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = data[i++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return value;
            }
        }
    }
}
